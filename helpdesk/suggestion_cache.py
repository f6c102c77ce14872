"""Caches around the suggestion engine, shared by every web process through Redis.

Widget visitors ask the same questions again and again (debounced typing sends the same text, customers
of one shop ask the same five things), and a suggestion costs ~25 CPU ms plus ~40 ms to encode a new
question. Two caches cut that:

- **Answers**: the widget's whole suggest response, keyed by the question (whitespace-normalised),
  the visitor's fallback locale, the settings that shape an answer, and the *knowledge-base version*.
- **Query vectors**: a question's vector per encoder name (encoding is a pure function of the two), a
  second level behind the per-process LRU in `selectors.suggestions`, so web processes and workers
  encode a question once between them.

The knowledge-base version is one Redis counter. Every write that can change an answer bumps it
(`kb_changed`: articles saved, published or unpublished, passages embedded, an encoder switch
completed, the confidence threshold changed), once at once and once more after the transaction
commits, so an answer computed from the old data meanwhile is stored under a version nobody reads
again. Old entries are never deleted, only no longer read: they expire (ANSWER_TTL_SECONDS, which
also bounds staleness after a write no service saw, e.g. raw SQL). Without Redis nothing is cached
and every request computes its answer, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

import numpy as np
import redis
from django.db import transaction

from helpdesk import conf
from helpdesk.request_redis import client, script

logger = logging.getLogger(__name__)

# One hash tag: the version, the answers and the counters live in one Redis Cluster slot (the lookup
# script reads an answer key it builds from the version).
VERSION_KEY = "polyglot:{suggest}:kb-version"
STATS_KEY = "polyglot:{suggest}:stats"
ANSWER_PREFIX = "polyglot:{suggest}:answer:"
VECTOR_PREFIX = "polyglot:vector:"
ANSWER_TTL_SECONDS = 600
VECTOR_TTL_SECONDS = 7 * 24 * 3600
# Bumped when the shape of a cached answer changes, so a deploy never serves the old shape.
ANSWER_FORMAT = 2  # 2: confidences from the fitted ranking model
# What besides the question and the knowledge base decides an answer (read at call time).
_SHAPING_SETTINGS = ("ENCODER", "EMBEDDING_DIMENSIONS", "CONFIDENCE_THRESHOLD", "RANKING_MODEL",
                     "SUGGESTION_LIMIT", "RERANKER", "DEFAULT_LOCALE", "HNSW_EF_SEARCH", "LANGUAGE_MODEL",
                     "MAX_QUERY_CHARS")

# KEYS: version, stats. ARGV: answer key prefix, answer key suffix. Returns {version, answer or nil}.
# One round trip for the whole lookup, hit counting included.
LOOKUP = """
local version = redis.call('GET', KEYS[1]) or '0'
local answer = redis.call('GET', ARGV[1] .. version .. ':' .. ARGV[2])
redis.call('HINCRBY', KEYS[2], answer and 'hits' or 'misses', 1)
return {version, answer}
"""


# --- the knowledge-base version --------------------------------------------------------------------

def kb_version() -> int | None:
    """The current knowledge-base version, or None when Redis cannot be reached (cache nothing then)."""
    try:
        return int(client().get(VERSION_KEY) or 0)
    except redis.RedisError as exc:
        logger.warning("suggestion cache unavailable: %s", exc)
        return None


def _bump() -> None:
    try:
        client().incr(VERSION_KEY)
    except redis.RedisError as exc:
        logger.warning("could not invalidate cached suggestions (they expire in %d s): %s", ANSWER_TTL_SECONDS, exc)


def kb_changed() -> None:
    """Say that what a suggestion depends on has changed: cached answers are not read again.

    Bumps now (this process's next request, and tests inside one transaction, see the change) and
    again after the surrounding transaction commits (an answer computed by another process from
    the data before the commit is filed under the version in between, which nobody reads after).
    """
    _bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(_bump)


# --- widget answers --------------------------------------------------------------------------------

def normalise_question(text: str) -> str:
    """The question as the cache sees it: runs of whitespace are one space, nothing else changes
    (case and punctuation can change the vector and the detected language, so they stay)."""
    return " ".join((text or "").split())


def _answer_suffix(text: str, fallback_locale: str) -> str:
    shaping = [conf.get(name) for name in _SHAPING_SETTINGS]
    material = json.dumps([ANSWER_FORMAT, normalise_question(text), fallback_locale, shaping],
                          ensure_ascii=False, default=str, sort_keys=True)
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class CachedAnswer:
    """The result of one lookup: `body` when cached, else `store(body)` files the computed answer."""

    body: bytes | None
    _key: str | None  # where to store the answer computed now (None: Redis unavailable, store nothing)

    def store(self, body: bytes) -> None:
        if self._key is None:
            return
        try:
            client().set(self._key, body, ex=ANSWER_TTL_SECONDS)
        except redis.RedisError as exc:
            logger.warning("could not cache a suggestion: %s", exc)


def widget_answer(text: str, fallback_locale: str) -> CachedAnswer:
    """Look up the widget's suggest answer for `text` (shown in `fallback_locale` when its language is unsure)."""
    suffix = _answer_suffix(text, fallback_locale)
    try:
        version, body = script(LOOKUP)(keys=[VERSION_KEY, STATS_KEY],
                                                           args=[ANSWER_PREFIX, suffix])
    except redis.RedisError as exc:
        logger.warning("suggestion cache unavailable: %s", exc)
        return CachedAnswer(None, None)
    return CachedAnswer(body, f"{ANSWER_PREFIX}{int(version)}:{suffix}")


def answer_stats() -> dict[str, int]:
    """Hits and misses of widget answer lookups since Redis started (every process together)."""
    try:
        raw = client().hgetall(STATS_KEY)
    except redis.RedisError:
        return {"hits": 0, "misses": 0}
    return {"hits": int(raw.get(b"hits", 0)), "misses": int(raw.get(b"misses", 0))}


# --- query vectors ---------------------------------------------------------------------------------

def _vector_key(encoder_name: str, text: str) -> str:
    digest = hashlib.sha256(f"{encoder_name}\x00{text}".encode("utf-8", "surrogatepass")).hexdigest()
    return VECTOR_PREFIX + digest


def cached_vector(encoder_name: str, text: str) -> np.ndarray | None:
    """The vector `encoder_name` made of `text` before, in any process; None if unknown or Redis is down."""
    try:
        raw = client().get(_vector_key(encoder_name, text))
    except redis.RedisError:
        return None
    return np.frombuffer(raw, dtype=np.float32) if raw else None


def remember_vector(encoder_name: str, text: str, vector: np.ndarray) -> None:
    try:
        client().set(_vector_key(encoder_name, text), np.asarray(vector, dtype=np.float32).tobytes(),
                     ex=VECTOR_TTL_SECONDS)
    except redis.RedisError:
        pass  # the next process to need it encodes it again
