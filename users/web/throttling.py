"""Throttles that count atomically: DRF's throttle interface over one counter that adds an
attempt and answers the new count in one operation, so parallel requests cannot all read the
same count and pass together.

The store is Redis (one Lua script) when the default cache is Django's Redis cache, and the
database otherwise (one INSERT ... ON CONFLICT DO UPDATE on RateCounter, on SQLite and Postgres
alike): Django's database cache, its file cache and its local-memory cache have no atomic
add-and-count across processes, so counts never live in them."""

import hashlib
import random
import time

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

from users.models import RateCounter

# One attempt in this many also deletes the database's counters whose window has ended.
_PRUNE_ONE_IN = 200

_REDIS_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
"""

# SQLite (3.35+) and Postgres alike. In the SET clause the row's columns hold their values
# before the update.
_DATABASE_HIT = """
INSERT INTO users_ratecounter ("key", "count", "expires_at") VALUES (%s, 1, %s)
ON CONFLICT ("key") DO UPDATE SET
    "count" = CASE WHEN users_ratecounter.expires_at <= %s THEN 1
                 ELSE users_ratecounter."count" + 1 END,
    expires_at = CASE WHEN users_ratecounter.expires_at <= %s THEN excluded.expires_at
                      ELSE users_ratecounter.expires_at END
RETURNING "count", expires_at
"""


def _digest(key: str) -> str:
    # Keys name phones and emails: only their digest is stored.
    return hashlib.sha256(key.encode()).hexdigest()


def counter_hit(*, key: str, window: float) -> tuple[int, float]:
    """Adds one attempt to `key`'s window (a new window of `window` seconds starts when none is
    running) and answers (attempts in the window so far, this one included; Unix time at which
    the window ends). Atomic: N parallel calls answer 1..N."""
    digest = _digest(key)
    store = caches["default"]
    if isinstance(store, RedisCache):
        return _redis_hit(store, digest, window)
    return _database_hit(digest, window)


def counter_clear(*, key: str) -> None:
    digest = _digest(key)
    store = caches["default"]
    if isinstance(store, RedisCache):
        store.delete(f"rate:{digest}")
    else:
        RateCounter.objects.filter(key=digest).delete()


def _redis_hit(store: RedisCache, digest: str, window: float) -> tuple[int, float]:
    # The client of Django's own Redis cache (redis-py), for the one command it lacks: a script.
    key = store.make_and_validate_key(f"rate:{digest}")
    client = store._cache.get_client(key, write=True)
    count, ttl_ms = client.eval(_REDIS_HIT, 1, key, int(window * 1000))
    return int(count), time.time() + max(int(ttl_ms), 0) / 1000


def _database_hit(digest: str, window: float) -> tuple[int, float]:
    now = time.time()
    with connection.cursor() as cursor:
        cursor.execute(_DATABASE_HIT, [digest, now + window, now, now])
        attempts, expires_at = cursor.fetchone()
    if random.randrange(_PRUNE_ONE_IN) == 0:  # noqa: S311 (not a secret)
        RateCounter.objects.filter(expires_at__lte=now).delete()
    return int(attempts), float(expires_at)


class AtomicRateThrottle(SimpleRateThrottle):
    """DRF's SimpleRateThrottle (a `scope`, its rate in DEFAULT_THROTTLE_RATES, a subclass's
    get_cache_key) counting in fixed windows with counter_hit instead of its history list,
    which it reads and writes back and so lets parallel requests through together. A request
    over the rate is counted too: the window still ends when it would have."""

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.count, self.expires_at = counter_hit(key=self.key, window=self.duration)
        return self.count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, self.expires_at - time.time())


class AtomicScopedRateThrottle(ScopedRateThrottle, AtomicRateThrottle):
    """DRF's ScopedRateThrottle (the view's `throttle_scope`, per user or else per address),
    counted atomically."""


class FirstRefusalThrottling:
    """A view mixin: its throttles are asked in order and the first refusal answers 429,
    where DRF asks every throttle whatever the first answered. So a view lists its per-address
    throttle first, and a throttle that reads the body (a per-phone count) neither counts nor
    parses anything from an address already over its rate: a flood from one address costs a
    counter, not a parse."""

    def check_throttles(self, request) -> None:
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                self.throttled(request, throttle.wait())
