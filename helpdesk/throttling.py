"""Fixed-window request counters in Redis, shared by every web process (used by the public widget API)."""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def hit(scope: str, ident: str, *, limit: int, window: int = 60) -> int | None:
    """Count one request against `limit` per `window` seconds; return seconds to wait if over, else None."""
    key = f"polyglot:throttle:{scope}:{ident}:{window}"
    pipe = _client(settings.REDIS_URL).pipeline(transaction=True)
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    _, count, ttl = pipe.execute()
    if count > limit:
        return max(1, int(ttl) if ttl and ttl > 0 else window)
    return None
