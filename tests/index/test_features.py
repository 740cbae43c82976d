"""The local-feature index: edited copies of registered photos are found (by the fast
search and by its brute-force reference alike), unrelated photos are not, and adding,
replacing, removing and merging keep exactly the images held findable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageOps

from reclaim.hashing.keypoints import (
    MIN_INLIERS,
    Features,
    agreeing_votes,
    features_from_luma,
    query_views,
)
from reclaim.index import features as feature_index
from reclaim.index.features import MAX_SEGMENTS, FeatureIndex, FeatureMatch, _Votes

Edit = Callable[[Image.Image], Image.Image]
Views = tuple[Features, Features]

#: Registered in most tests, under their position here as id. motorcycle_right.jpg is
#: the other half of motorcycle_left.jpg's stereo pair (the same scene), so it is kept
#: out of every set below.
BANK = (
    "astronaut.jpg",
    "camera.png",
    "chelsea.jpg",
    "coffee.jpg",
    "motorcycle_left.jpg",
    "rocket.jpg",
)
#: Never registered with BANK; among them the photos that come closest to it by chance.
UNRELATED = (
    "coins.png",
    "ihc.jpg",
    "moon.jpg",
    "retina.jpg",
    "wikimedia03.jpg",
    "wikimedia06.jpg",
    "wikimedia08.jpg",
)
#: Features put in place of a BANK photo's.
REPLACEMENT = "hubble_deep_field.jpg"

EDITS: dict[str, Edit] = {
    "none": lambda im: im,
    "crop": lambda im: im.crop((im.width * 3 // 10, 0, im.width, im.height * 7 // 10)),
    "rotate 15": lambda im: im.rotate(15, resample=Image.Resampling.BILINEAR, expand=True),
    "mirror": lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "scale 0.3": lambda im: im.resize(
        (round(im.width * 0.3), round(im.height * 0.3)), Image.Resampling.LANCZOS
    ),
    "border": lambda im: ImageOps.expand(im, round(0.15 * max(im.size)), fill=(200, 40, 90)),
}
COPIES = [name for name in EDITS if name != "none"]


def _luma(image: Image.Image) -> NDArray[np.uint8]:
    return np.asarray(image.convert("L"), dtype=np.uint8)


@pytest.fixture(scope="module")
def images(photos: list[Path]) -> dict[str, Image.Image]:
    wanted = {*BANK, *UNRELATED, REPLACEMENT}
    found = {p.name: Image.open(p).convert("RGB") for p in photos if p.name in wanted}
    assert set(found) == wanted, "sample photos are missing"
    return found


@pytest.fixture(scope="module")
def registered(images: dict[str, Image.Image]) -> dict[str, Features]:
    """Registration features of every photo used here, computed once."""
    return {name: features_from_luma(_luma(image)) for name, image in images.items()}


@pytest.fixture(scope="module")
def query(images: dict[str, Image.Image]) -> Callable[[str, str], Views]:
    """The query views of a photo after an edit, each computed once for the module."""
    cache: dict[tuple[str, str], Views] = {}

    def views(name: str, edit: str) -> Views:
        if (name, edit) not in cache:
            cache[name, edit] = query_views(_luma(EDITS[edit](images[name])))
        return cache[name, edit]

    return views


def _bank(registered: dict[str, Features]) -> FeatureIndex:
    index = FeatureIndex()
    index.add((ident, registered[name]) for ident, name in enumerate(BANK))
    return index


def _ids(matches: list[FeatureMatch]) -> list[int]:
    return [m.ident for m in matches]


def _found_first(index: FeatureIndex, views: Views, ident: int) -> bool:
    found = index.search(views)
    return bool(found) and found[0].ident == ident and found[0].inliers >= MIN_INLIERS


# --- finding copies -------------------------------------------------------------------


@pytest.mark.parametrize("edit", COPIES)
def test_edited_copies_are_found_first(
    registered: dict[str, Features], query: Callable[[str, str], Views], edit: str
) -> None:
    index = _bank(registered)
    for ident, name in enumerate(BANK):
        views = query(name, edit)
        found = index.search(views)
        assert found, f"{name} ({edit}) not found"
        assert found[0].ident == ident, (name, edit, found)
        assert all(m.inliers >= MIN_INLIERS for m in found)
        assert [m.inliers for m in found] == sorted((m.inliers for m in found), reverse=True)
        reference = index.search_reference(views)
        assert reference and reference[0].ident == ident, (name, edit, reference)
        assert sorted(_ids(found)) == sorted(_ids(reference)), (name, edit)


def test_every_view_is_searched(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    """A mirrored copy is found through the query's mirror view, not its plain one."""
    index = _bank(registered)
    ident = BANK.index("chelsea.jpg")
    plain, mirror = query("chelsea.jpg", "mirror")
    assert index.search([plain]) == []
    assert _ids(index.search([mirror])) == [ident]
    assert _ids(index.search([plain, mirror])) == [ident]
    assert _ids(index.search_reference([plain, mirror])) == [ident]


def test_wrong_candidates_are_passed_over_without_verification(
    registered: dict[str, Features],
    query: Callable[[str, str], Views],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Unrelated photos collect chance votes that no one transform explains: the quick
    look at the votes passes most of them over; a copy's votes agree, so it is verified
    and found."""
    index = _bank(registered)
    verified: list[int] = []
    verify = feature_index.inliers

    def counting(view: Features, features: Features) -> int:
        verified.append(id(features))
        return verify(view, features)

    monkeypatch.setattr(feature_index, "inliers", counting)
    candidates = 0
    for name in UNRELATED:
        views = query(name, "rotate 15")
        assert index.search(views) == [], name
        votes = [index._votes(view.descriptors, index._eligible(None)) for view in views]
        candidates += sum(int((v.tally >= feature_index.MIN_VOTES).sum()) for v in votes)
    assert candidates >= 2 * len(UNRELATED)
    # In a bank this small each image collects many chance votes, and many agree by
    # chance too, so fewer are passed over than in a larger bank.
    assert len(verified) <= 0.85 * candidates, (len(verified), candidates)
    verified.clear()
    ident = BANK.index("coffee.jpg")
    assert _found_first(index, query("coffee.jpg", "crop"), ident)
    assert id(registered["coffee.jpg"]) in verified


def test_a_copy_s_votes_agree_and_chance_votes_do_not(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    index = _bank(registered)
    ident = BANK.index("astronaut.jpg")
    view = query("astronaut.jpg", "rotate 15")[0]
    votes = index._votes(view.descriptors, index._eligible(None))
    mine, positions = votes.pairs(ident)
    features = registered["astronaut.jpg"]
    assert agreeing_votes(view, features, mine, positions) >= 0.5 * len(mine) >= 5
    # As many chance votes as a wrong candidate gets in a bank of some size, each naming
    # a registered feature at random: a few agree by chance, fewer than the look asks.
    # (In a bank of a few images wrong ones collect hundreds of votes and a tenth of
    # those can agree by chance: verification, not this look, rejects them.)
    rng = np.random.default_rng(3)
    for _ in range(5):
        voters = rng.choice(mine, 20, replace=False)
        scattered = rng.integers(0, len(features), 20)
        agreeing = agreeing_votes(view, features, voters, scattered)
        assert agreeing < feature_index.AGREEING_VOTES, agreeing


def test_unrelated_photos_match_nothing(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    index = _bank(registered)
    chance = 0
    for name in UNRELATED:
        views = query(name, "none")
        assert index.search(views) == [], name
        assert index.search_reference(views) == [], name
        # Candidates are verified and fall short: with no threshold some agree by chance.
        chance += len(index.search(views, min_inliers=1))
    assert chance > 0


def test_the_threshold_is_the_callers(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    index = _bank(registered)
    ident = BANK.index("coffee.jpg")
    views = query("coffee.jpg", "crop")
    (match,) = index.search(views)
    assert match.ident == ident
    assert index.search(views, min_inliers=match.inliers) == [match]
    assert index.search(views, min_inliers=match.inliers + 1) == []
    assert index.search_reference(views, min_inliers=match.inliers + 1) == []


# --- adding, replacing, removing ----------------------------------------------------------


def test_removed_ids_stop_matching_at_once_and_can_come_back(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    index = _bank(registered)
    ident = BANK.index("chelsea.jpg")
    views = query("chelsea.jpg", "crop")
    assert _found_first(index, views, ident)
    assert ident in index and len(index) == len(BANK)

    index.remove([ident, 999])  # an unknown id is ignored
    assert ident not in index and 999 not in index and len(index) == len(BANK) - 1
    assert index.search(views) == []
    assert index.search_reference(views) == []
    other = BANK.index("coffee.jpg")
    assert _found_first(index, query("coffee.jpg", "crop"), other)
    index.remove([ident])  # twice is harmless
    assert len(index) == len(BANK) - 1

    index.add([(ident, registered["chelsea.jpg"])])
    assert ident in index and len(index) == len(BANK)
    assert _found_first(index, views, ident)
    assert _ids(index.search_reference(views)) == [ident]


def test_adding_a_held_id_replaces_its_features(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    index = _bank(registered)
    ident = BANK.index("chelsea.jpg")
    old, new = query("chelsea.jpg", "border"), query(REPLACEMENT, "crop")
    assert _found_first(index, old, ident)
    assert index.search(new) == []

    index.add([(ident, registered[REPLACEMENT])])
    assert len(index) == len(BANK)
    assert index.features(ident) is registered[REPLACEMENT]
    assert index.search(old) == [] and index.search_reference(old) == []
    assert _found_first(index, new, ident)
    assert _ids(index.search_reference(new)) == [ident]

    # Registering the very same features again changes nothing.
    index.add([(ident, registered[REPLACEMENT])])
    assert len(index) == len(BANK)
    assert _found_first(index, new, ident)
    assert index.search(old) == []


def test_an_id_twice_in_one_batch_holds_the_last(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    index = FeatureIndex()
    index.add([(7, registered["chelsea.jpg"]), (7, registered["coffee.jpg"])])
    assert len(index) == 1 and index.features(7) is registered["coffee.jpg"]
    assert index.descriptor_count == len(registered["coffee.jpg"])
    assert _found_first(index, query("coffee.jpg", "crop"), 7)
    assert index.search(query("chelsea.jpg", "crop")) == []


def test_the_same_image_under_two_ids_is_found_under_both(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    """Two banks may register the same photo; a copy matches both signals (the caller
    filters by bank afterwards)."""
    index = _bank(registered)
    twin = 100
    index.add([(twin, registered["coffee.jpg"])])
    views = query("coffee.jpg", "rotate 15")
    found, reference = index.search(views), index.search_reference(views)
    ident = BANK.index("coffee.jpg")
    assert _ids(found) == _ids(reference) == [ident, twin]  # equal inliers: by id
    assert found[0].inliers == found[1].inliers


def test_many_batches_are_merged_and_stay_findable(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    names = [*BANK, *UNRELATED]
    assert len(names) > MAX_SEGMENTS + 1
    index = FeatureIndex()
    gone = BANK.index("camera.png")
    for ident, name in enumerate(names[:MAX_SEGMENTS]):
        index.add([(ident, registered[name])])
        assert len(index._segments) == ident + 1
    index.remove([gone])
    # Every batch so far is its own segment, and each is searched.
    for ident, name in enumerate(BANK):
        if ident != gone:
            assert _found_first(index, query(name, "border"), ident), name

    for ident in range(MAX_SEGMENTS, len(names)):  # past MAX_SEGMENTS: merged
        index.add([(ident, registered[names[ident]])])
        assert len(index._segments) <= MAX_SEGMENTS
    assert len(index._segments) < MAX_SEGMENTS
    held = [ident for ident in range(len(names)) if ident != gone]
    assert sorted(ident for ident, _ in index.items()) == held
    assert len(index) == len(held)
    # The removed image's descriptors are gone from the segments, not just outvoted.
    assert sum(len(s.owners) for s in index._segments) == index.descriptor_count
    assert index.descriptor_count == sum(len(registered[names[i]]) for i in held)

    assert index.search(query("camera.png", "border")) == []
    for ident in held:
        name = names[ident]
        edit = "border" if name in BANK else "none"
        assert _found_first(index, query(name, edit), ident), name


def test_small_batches_merge_among_themselves_not_into_a_large_segment(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    names = [*BANK, *UNRELATED]
    index = FeatureIndex()
    index.add((ident, registered[name]) for ident, name in enumerate(names))  # one large
    large = index._segments[0]
    extra = {100 + n: registered[name] for n, name in enumerate(BANK[:3])}
    for ident, features in extra.items():  # many small batches, one image each
        for _ in range(3):  # replaced twice: each time a new segment
            index.add([(ident, features)])
    assert index._segments[0] is large  # the large segment was not re-sorted
    assert len(index._segments) <= MAX_SEGMENTS
    held = dict(index.items())
    assert all(held[ident] is features for ident, features in extra.items())
    for ident in extra:
        found = index.search(query(names[ident - 100], "border"))
        assert {ident, ident - 100} <= set(_ids(found))  # the image is held under both ids


# --- edge cases -------------------------------------------------------------------------


def test_featureless_images_are_not_held_and_match_nothing(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    flat_luma = np.full((300, 400), 128, np.uint8)
    flat = features_from_luma(flat_luma)
    assert len(flat) == 0
    index = _bank(registered)
    segments = len(index._segments)
    index.add([(50, flat)])
    index.add([])
    assert 50 not in index and len(index) == len(BANK) and len(index._segments) == segments
    index.add([(51, flat), (52, registered[REPLACEMENT])])
    assert 51 not in index and 52 in index
    assert _ids(index.search(query(REPLACEMENT, "crop"))) == [52]

    views = query_views(flat_luma)
    assert all(len(view) == 0 for view in views)
    assert index.search(views) == [] and index.search_reference(views) == []
    assert index.search([]) == [] and index.search_reference([]) == []


def test_an_empty_index_matches_nothing(
    registered: dict[str, Features], query: Callable[[str, str], Views]
) -> None:
    views = query("astronaut.jpg", "none")
    index = FeatureIndex()
    assert len(index) == 0 and index.descriptor_count == 0 and list(index.items()) == []
    assert index.search(views) == [] and index.search_reference(views) == []
    # Emptied by removal: slots remain, nothing is held.
    index.add([(1, registered["astronaut.jpg"])])
    index.remove([1])
    assert len(index) == 0 and index.descriptor_count == 0 and list(index.items()) == []
    assert index.search(views) == [] and index.search_reference(views) == []


def test_items_and_features_return_what_was_added(registered: dict[str, Features]) -> None:
    index = _bank(registered)
    index.remove([BANK.index("rocket.jpg")])
    held = dict(index.items())
    expected = {i: registered[name] for i, name in enumerate(BANK) if name != "rocket.jpg"}
    assert sorted(held) == sorted(expected)
    for ident, features in expected.items():
        for got in (held[ident], index.features(ident)):
            assert np.array_equal(got.descriptors, features.descriptors)
            assert np.array_equal(got.xy, features.xy)
            assert np.array_equal(got.level, features.level)
    assert index.descriptor_count == sum(len(f) for f in expected.values())
    with pytest.raises(KeyError):
        index.features(BANK.index("rocket.jpg"))
    with pytest.raises(KeyError):
        index.features(999)


def test_compiled_votes_equal_the_reference_votes_with_planted_ties() -> None:
    """Votes (not only matches) of the nominee search and of brute force agree, also when
    an image ties with another at one distance and then comes nearer."""
    rng = np.random.default_rng(21)
    base = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    index = FeatureIndex()

    def features(descriptors: np.ndarray) -> Features:
        count = len(descriptors)
        return Features(
            rng.random((count, 2), dtype=np.float32) * np.float32(0.7),
            np.zeros(count, np.int8),
            np.zeros(count, np.float32),
            descriptors,
            (1.0, 0.75),
            512,
        )

    flipped = base.copy()
    flipped[:, 31] ^= 0x0F  # 4 bits further from the query (the first 7 pieces still shared)
    index.add([(1, features(base.copy())), (2, features(flipped)), (3, features(base.copy()))])
    nearer = base.copy()
    index.add([(4, features(np.concatenate([flipped, nearer])))])
    query = base.copy()
    query[:, 30] ^= 0x01
    _assert_same_votes(index, query)
    index.remove([3])
    _assert_same_votes(index, query)


def _assert_same_votes(index: FeatureIndex, query: np.ndarray) -> None:
    """The compiled votes equal the brute-force ones: the tally, and which registered
    feature each vote names (what the quick look before verification reads)."""
    fast = index._votes(query, index._eligible(None))
    slow = index._votes_reference(query, index._eligible(None))
    assert np.allclose(fast.tally, slow.tally)
    assert fast.tally.sum() > 0

    def named(votes: _Votes) -> set[tuple[int, int, int]]:
        triples = zip(votes.query, votes.slot, votes.position, strict=True)
        return {(int(q), int(s), int(p)) for q, s, p in triples}

    assert named(fast) == named(slow)
