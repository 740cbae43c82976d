"""The per-key token bucket."""

from __future__ import annotations

import pytest

from reclaim.api import limits
from reclaim.api.limits import RateLimiter
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
