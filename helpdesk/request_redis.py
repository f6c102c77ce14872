"""The Redis connection the request path uses (rate limits, cached answers, site lookups).

Short timeouts: a Redis that stops answering must not hold a customer's request; callers skip the
cache or fail open instead. One connection pool per URL, shared by every caller in the process.
"""

from __future__ import annotations

import functools

import redis
from django.conf import settings


@functools.lru_cache(maxsize=4)
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def client() -> redis.Redis:
    """The client for settings.REDIS_URL (read at call time: tests and deployments change it)."""
    return _client(settings.REDIS_URL)


@functools.lru_cache(maxsize=16)
def _script(url: str, source: str):
    return _client(url).register_script(source)


def script(source: str):
    """A registered Lua script on client(): sent by hash, its source only when Redis lacks it."""
    return _script(settings.REDIS_URL, source)
