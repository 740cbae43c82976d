"""What the service holds while it runs: the store, the matcher, key checks, limits.

The matcher loads in a background thread, so the service answers ``/v1/health`` at once
and ``/v1/ready`` says 503 until the indexes hold every bank; requests that need the
matcher get 503 meanwhile. A load that fails (the store unreachable at start-up) is
retried with growing pauses. Once loaded, the matcher follows the store from its own
thread, so a request never waits on the database to match.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Final

from reclaim.api.limits import AttemptLimiter, RateLimiter
from reclaim.cases import CaseService
from reclaim.errors import ConfigurationError, NotReady, ReclaimError
from reclaim.hashing.files import FingerprintOptions, options_for
from reclaim.keys import KeyVerifier
from reclaim.match_records import MatchRecorder
from reclaim.matching import Matcher
from reclaim.sealing import SecretKey, secret_key
from reclaim.settings import Settings, snapshot_dir
from reclaim.store import Store

logger = logging.getLogger("reclaim.api")
_RETRY_PAUSES: Final = (1.0, 2.0, 5.0, 10.0, 30.0)
FOLLOW_INTERVAL: Final = 0.1


@dataclass
class ServiceState:
    settings: Settings
    store: Store
    keys: KeyVerifier
    limiter: RateLimiter
    options: FingerprintOptions
    recorder: MatchRecorder
    secret: SecretKey
    cases: CaseService
    openings: AttemptLimiter
    submissions: AttemptLimiter
    load_attempted: threading.Event = field(default_factory=threading.Event)
    load_error: str | None = None
    _matcher: Matcher | None = None
    _closing: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def open(cls, settings: Settings) -> ServiceState:
        secret = secret_key(settings)  # refused before the store opens, if missing in production
        store = Store.open(settings.database_url)
        options = options_for(settings)
        cases = CaseService.for_settings(store, settings, secret)
        try:
            cases.check_banks()
            cases.warm()
        except ConfigurationError:
            store.close()
            raise
        return cls(
            settings=settings,
            store=store,
            keys=KeyVerifier(store, settings.key_cache_seconds),
            limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
            options=options,
            recorder=MatchRecorder(store),
            secret=secret,
            cases=cases,
            openings=AttemptLimiter(
                settings.case_attempts_per_client, settings.case_attempts_window_seconds
            ),
            submissions=AttemptLimiter(settings.case_submissions_per_client_per_hour, 3600.0),
        )

    def start_loading(self) -> threading.Thread:
        thread = threading.Thread(target=self._load, name="reclaim-matcher-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        attempt = 0
        while not self._closing.is_set():
            try:
                matcher = Matcher(self.store, snapshot_dir(self.settings))
            except Exception as exc:
                self.load_error = (
                    exc.message if isinstance(exc, ReclaimError)
                    else "the indexes failed to load; see the service log"
                )  # fmt: skip
                pause = _RETRY_PAUSES[min(attempt, len(_RETRY_PAUSES) - 1)]
                logger.exception("matcher failed to load; retrying in %.0f s", pause)
                self.load_attempted.set()  # /v1/ready reports the failure meanwhile
                attempt += 1
                self._closing.wait(pause)
                continue
            if matcher.started_from == 0 and matcher.size:
                matcher.save_snapshot()  # so the next start reads the indexes from disk
            matcher.follow(FOLLOW_INTERVAL)
            self._matcher, self.load_error = matcher, None
            self.load_attempted.set()
            logger.info("matcher ready: %d signals, change %d", matcher.size, matcher.seq)
            return

    @property
    def matcher(self) -> Matcher:
        if self._matcher is None:
            raise NotReady(
                self.load_error or "the service is still loading its indexes; retry shortly"
            )
        return self._matcher

    @property
    def ready(self) -> bool:
        return self._matcher is not None

    def close(self) -> None:
        self._closing.set()
        self.recorder.close()
        if self._matcher is not None:
            self._matcher.stop()
            self._matcher.save_snapshot()
        self.store.close()
