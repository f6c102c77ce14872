"""Fixed-window request counters in Redis, shared by every web process (used by the public widget API)."""

from __future__ import annotations

import functools
import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    # Short timeouts: a request must not hang on a Redis that is gone.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def hit(scope: str, ident: str, *, limit: int, window: int = 60) -> int | None:
    """Count one request against `limit` per `window` seconds; return seconds to wait if over, else None.

    With Redis unreachable the request is let through (and logged): customers keep getting answers
    from PostgreSQL during a Redis outage, at the price of no rate limit for that while.
    """
    key = f"polyglot:throttle:{scope}:{ident}:{window}"
    pipe = _client(settings.REDIS_URL).pipeline(transaction=True)
    pipe.set(key, 0, ex=window, nx=True)
    pipe.incr(key)
    pipe.ttl(key)
    try:
        _, count, ttl = pipe.execute()
    except redis.RedisError as exc:
        logger.warning("rate limiter unavailable, request allowed: %s", exc)
        return None
    if count > limit:
        return max(1, int(ttl) if ttl and ttl > 0 else window)
    return None
