"""Fixed-window request counters in Redis, shared by every web process (used by the public widget API).

A widget key is public, so its per-key budget (all visitors of a site together) must not be something
a few addresses can use up and so lock every other visitor out. `admit` checks one request against
three rules in one atomic Redis script:

1. each address may make at most `address_limit` requests per window;
2. all addresses together at most `budget` (the key's limit);
3. an address's requests beyond its fair share (`fair_share`: what a visitor asking a few questions
   needs) may only use the part of the budget that is not reserved (`reserve`, a fraction): the
   reserved part is kept for addresses within their fair share.

So a handful of abusers at full speed get their fair share plus at most (1 − reserve) of the budget
together, and ordinary visitors keep the reserved part. Many addresses each staying within a fair share
are indistinguishable from a crowd of visitors: the budget (rule 2) then protects the desk, as before.
Only requests that are let through are counted. This is the load-shedding pattern of reserving
capacity for well-behaved traffic, applied per key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis

from helpdesk.request_redis import script

logger = logging.getLogger(__name__)

# KEYS: address counter, budget counter. ARGV: address_limit, budget, fair_share, budget_beyond_share, window.
# Returns {0, 0} when admitted, else {1 (address limit) or 2 (budget), milliseconds until the window ends}.
ADMIT = """
local used_by_address = tonumber(redis.call('GET', KEYS[1]) or '0')
if used_by_address >= tonumber(ARGV[1]) then return {1, redis.call('PTTL', KEYS[1])} end
local cap = tonumber(ARGV[2])
if used_by_address >= tonumber(ARGV[3]) then cap = tonumber(ARGV[4]) end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= cap then return {2, redis.call('PTTL', KEYS[2])} end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[5]) end
end
return {0, 0}
"""


@dataclass(frozen=True)
class Refusal:
    reason: str  # "address" or "budget"
    retry_after: int  # seconds


def admit(scope: str, budget_id: str, address: str, *, address_limit: int, budget: int, fair_share: int,
          reserve: float, window: int = 60) -> Refusal | None:
    """Count one request from `address` against `budget_id`'s budget; a Refusal if it must wait, else None.

    With Redis unreachable the request is let through (and logged): customers keep getting answers
    from PostgreSQL during a Redis outage, at the price of no rate limit for that while.
    """
    # One hash tag per budget: both counters live in the same Redis Cluster slot.
    keys = [f"polyglot:throttle:{scope}:{{{budget_id}}}:{address}:{window}",
            f"polyglot:throttle:{scope}:{{{budget_id}}}:{window}"]
    beyond_share = budget - round(budget * reserve)
    try:
        refused, ttl_ms = script(ADMIT)(
            keys=keys, args=[address_limit, budget, fair_share, beyond_share, window])
    except redis.RedisError as exc:
        logger.warning("rate limiter unavailable, request allowed: %s", exc)
        return None
    if not refused:
        return None
    seconds = -(-int(ttl_ms) // 1000) if ttl_ms and int(ttl_ms) > 0 else window
    return Refusal(reason="address" if refused == 1 else "budget", retry_after=max(1, seconds))


def hit(scope: str, ident: str, *, limit: int, window: int = 60) -> int | None:
    """Count one event against `limit` per `window` seconds for `ident` alone (no shared budget, e.g.
    mail from one sender); return seconds to wait if over, else None. Redis down: allowed, logged."""
    refusal = admit(scope, ident, "all", address_limit=limit, budget=limit, fair_share=limit, reserve=0.0,
                    window=window)
    return refusal.retry_after if refusal else None
