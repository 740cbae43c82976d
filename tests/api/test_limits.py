"""The per-key token bucket."""

from __future__ import annotations

import pytest

from reclaim.api import limits
from reclaim.api.limits import AttemptLimiter, RateLimiter
from reclaim.errors import RateLimited


def test_a_bucket_allows_its_burst_then_refills_at_the_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [100.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: now[0])
    limiter = RateLimiter(rate=2.0, burst=3)
    for _ in range(3):
        limiter.take("k")
    with pytest.raises(RateLimited) as refused:
        limiter.take("k")
    assert refused.value.retry_after == 1
    limiter.take("other")  # keys do not share buckets
    now[0] += 0.5  # one token back
    limiter.take("k")
    with pytest.raises(RateLimited):
        limiter.take("k")


def test_a_slow_rate_asks_for_a_longer_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits.time, "monotonic", lambda: 5.0)
    limiter = RateLimiter(rate=0.1, burst=1)
    limiter.take("k")
    with pytest.raises(RateLimited) as refused:
        limiter.take("k")
    assert refused.value.retry_after == 10


def test_a_zero_rate_means_no_limit() -> None:
    limiter = RateLimiter(rate=0, burst=1)
    for _ in range(100):
        limiter.take("k")


def test_attempts_are_counted_before_they_are_made_and_right_ones_forgiven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: now[0])
    limiter = AttemptLimiter(limit=3, window=60)
    for _ in range(3):
        limiter.take("a")
    with pytest.raises(RateLimited) as refused:
        limiter.take("a")
    assert refused.value.retry_after == 60
    limiter.take("b")  # another client is not held back
    limiter.forgive("a")  # one proved right: a slot again
    limiter.take("a")
    now[0] += 61  # the window passes
    for _ in range(3):
        limiter.take("a")


def test_attempt_counts_forget_the_longest_quiet_clients_first() -> None:
    limiter = AttemptLimiter(limit=1, window=600, clients=3)
    for client in ("a", "b", "c", "d"):
        limiter.take(client)
    assert len(limiter) == 3
    limiter.take("a")  # forgotten, so counted afresh
    with pytest.raises(RateLimited):
        limiter.take("d")
    limiter.forgive("d")
    limiter.forgive("d")  # nothing left to forgive: no error, no entry kept
    assert len(limiter) == 2
