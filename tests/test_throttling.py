"""Rate limits of the public widget API, on the real (embedded) Redis: a per-key budget that a few
abusing addresses cannot use up, per-address limits, and Retry-After."""

from __future__ import annotations

import uuid

import pytest

from helpdesk import throttling
from tests.widget_support import HOST_ORIGIN, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db
DEFAULTS = dict(address_limit=120, budget=600, fair_share=20, reserve=0.8)  # a site's defaults, conf's defaults


def admitted(budget_id, address, n, **limits) -> int:
    return sum(throttling.admit("test", budget_id, address, **{**DEFAULTS, **limits}) is None for _ in range(n))


def test_five_addresses_at_their_limit_no_longer_lock_a_sites_visitors_out():
    key = uuid.uuid4().hex
    # Issue 13: five addresses at the per-address limit (5 × 120 = the key's 600) locked everyone out.
    abusers = [admitted(key, f"198.51.100.{i}", 120) for i in range(5)]
    visitors = [admitted(key, f"203.0.113.{i}", 10) for i in range(40)]  # visitors asking a question or two

    # Beyond its fair share (20) an address may only use the unreserved fifth of the budget (120): the
    # first abuser used it up; the others got their fair share only.
    assert abusers == [120, 20, 20, 20, 20]
    assert visitors == [10] * 40  # every visitor served from the reserved part
    # The budget itself still holds: with it used up, nobody else gets through.
    assert admitted(key, "192.0.2.1", 10) == 0


def test_one_address_gets_its_own_limit_when_the_budget_is_free():
    key = uuid.uuid4().hex
    assert admitted(key, "198.51.100.1", 200, budget=10_000) == 120
    refusal = throttling.admit("test", key, "198.51.100.1", **{**DEFAULTS, "budget": 10_000})
    assert refusal.reason == "address" and 1 <= refusal.retry_after <= 60


def test_many_addresses_within_their_share_can_still_use_the_whole_budget():
    # A crowd (or a botnet) of well-behaved addresses is what the budget is for: it stops at the budget.
    key = uuid.uuid4().hex
    served = [admitted(key, f"10.0.{i // 250}.{i % 250}", 5) for i in range(150)]
    assert sum(served) == 600
    refusal = throttling.admit("test", key, "10.9.9.9", **DEFAULTS)
    assert refusal.reason == "budget" and 1 <= refusal.retry_after <= 60


def test_through_the_widget_api_an_abuser_is_refused_while_visitors_are_served(client, site, settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "WIDGET_FAIR_SHARE": 4, "WIDGET_RESERVED_SHARE": 0.5}
    site.requests_per_minute, site.client_requests_per_minute = 20, 20
    site.save()

    def ask(addr):  # an empty question: the limiter runs first, then a cheap 400
        return client.get(f"/desk/widget/v1/{site.key}/suggest/?q=", headers={"Origin": HOST_ORIGIN},
                          REMOTE_ADDR=addr)

    abuser = [ask("198.51.100.66").status_code for _ in range(30)]
    visitors = [ask(f"203.0.113.{i}").status_code for i in range(10)]
    late = ask("203.0.113.200")

    assert abuser == [400] * 10 + [429] * 20  # 4 within its share + 6 of the unreserved half, then refused
    assert visitors == [400] * 10  # the reserved half serves them
    assert late.status_code == 429 and late.json()["error"] == "rate_limited"  # the budget of 20 is used up
    assert 1 <= int(late["Retry-After"]) <= 60 and late["Access-Control-Allow-Origin"] == HOST_ORIGIN
