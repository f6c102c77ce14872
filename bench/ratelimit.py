"""Widget rate limits under abuse: how many of the honest visitors' requests are served while a few
addresses hammer the same site key, with the previous limiter and the current one side by side.

Both limiters run against the real (embedded) Redis with a site's default limits (600 requests a
minute per key, 120 per address) and the default fair share (30) and reserve (half the budget).
Each scenario is one minute of traffic, replayed in time order as fast as Redis answers: honest
visitors arrive evenly over the minute and each makes VISITOR_REQUESTS requests over 40 seconds (a
session, type-ahead suggestions, a question, an article, a vote); each abuser sends as fast as its
connection allows (ABUSER_RATE requests a minute, evenly). Fixed windows: only the order matters.

    python -m bench ratelimit [--visitors 40] [--abusers 0,1,5,20,50] [--minutes 1]
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid

VISITOR_REQUESTS = 12
ABUSER_RATE = 1_000
# Counters live this long: longer than a replayed "minute" takes on a loaded machine, so a window never
# rolls over mid-replay (the limiters are the same for any window length).
WINDOW = 3600
KEY_BUDGET, ADDRESS_LIMIT = 600, 120


def legacy_admit(client, budget_id: str, address: str) -> bool:
    """The limiter before issue 13: an address counter, then the key's counter, each on its own."""
    for key, limit in ((f"bench:legacy:{budget_id}:{address}", ADDRESS_LIMIT), (f"bench:legacy:{budget_id}", KEY_BUDGET)):
        pipe = client.pipeline(transaction=True)
        pipe.set(key, 0, ex=WINDOW, nx=True)
        pipe.incr(key)
        _, count = pipe.execute()
        if count > limit:
            return False
    return True


def current_admit(budget_id: str, address: str) -> bool:
    from helpdesk import conf, throttling

    return throttling.admit("bench", budget_id, address, address_limit=ADDRESS_LIMIT, budget=KEY_BUDGET,
                            fair_share=conf.get("WIDGET_FAIR_SHARE"), reserve=conf.get("WIDGET_RESERVED_SHARE"),
                            window=WINDOW) is None


def minute_of_traffic(visitors: int, abusers: int, rng: random.Random) -> list[tuple[float, str, bool]]:
    """(second, address, honest) for every request of one minute, in time order."""
    events = []
    for v in range(visitors):
        start = rng.uniform(0, 20)
        events += [(start + rng.uniform(0, 40), f"203.0.{v // 250}.{v % 250}", True) for _ in range(VISITOR_REQUESTS)]
    for a in range(abusers):
        offset = rng.uniform(0, 60 / ABUSER_RATE)
        events += [(offset + i * 60 / ABUSER_RATE, f"198.51.{a // 250}.{a % 250}", False) for i in range(ABUSER_RATE)]
    return sorted(events)


def run(admit, visitors: int, abusers: int, minutes: int, seed: int) -> dict:
    rng = random.Random(seed)
    honest = honest_ok = abusive_ok = 0
    for _ in range(minutes):
        budget_id = uuid.uuid4().hex  # a fresh window per simulated minute
        for _second, address, is_honest in minute_of_traffic(visitors, abusers, rng):
            ok = admit(budget_id, address)
            if is_honest:
                honest += 1
                honest_ok += ok
            else:
                abusive_ok += ok
    return {"honest_rate": honest_ok / honest if honest else 1.0, "abusive_per_minute": abusive_ok / minutes,
            "honest_per_minute": honest_ok / minutes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench ratelimit", description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=40, help="honest visitors a minute")
    parser.add_argument("--abusers", default="0,1,5,20,50", help="comma-separated numbers of abusing addresses")
    parser.add_argument("--minutes", type=int, default=1, help="simulated minutes per scenario")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from helpdesk import conf, request_redis

    redis_client = request_redis.client()
    print(f"one site key: {KEY_BUDGET} requests/min, {ADDRESS_LIMIT}/min per address; current limiter: fair share "
          f"{conf.get('WIDGET_FAIR_SHARE')}/min, reserve {conf.get('WIDGET_RESERVED_SHARE'):.0%} of the budget")
    print(f"{args.visitors} honest visitors a minute × {VISITOR_REQUESTS} requests = "
          f"{args.visitors * VISITOR_REQUESTS}/min; each abuser {ABUSER_RATE}/min; {args.minutes} minutes per row; "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'abusers':>7} | {'honest served, before':>21} {'after':>7} | {'abusers served/min, before':>26} {'after':>6}"
          f" | {'all served/min, after':>21}")
    started = time.perf_counter()
    for abusers in [int(n) for n in args.abusers.split(",")]:
        before = run(lambda b, a: legacy_admit(redis_client, b, a), args.visitors, abusers, args.minutes, args.seed)
        after = run(current_admit, args.visitors, abusers, args.minutes, args.seed)
        print(f"{abusers:>7} | {before['honest_rate']:>21.1%} {after['honest_rate']:>7.1%} | "
              f"{before['abusive_per_minute']:>26.0f} {after['abusive_per_minute']:>6.0f} | "
              f"{after['honest_per_minute'] + after['abusive_per_minute']:>21.0f}")
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0
