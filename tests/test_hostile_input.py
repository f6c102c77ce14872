"""Hostile input: every endpoint that reads input answers a 4xx (JSON for JSON endpoints), never a 500.

Property tests: Hypothesis builds bodies, headers, query strings and URL segments for each endpoint in
`tests.hostile.ENDPOINTS` and the answer is checked by `check_answer`. Bounded (EXAMPLES per endpoint)
to stay fast; on CI the examples are derandomised so a run is repeatable; `python -m bench fuzz`
sends many more over HTTP. The named triggers of issue 13 are pinned as plain tests below.
"""

from __future__ import annotations

import json
import os

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.models import Ticket, WidgetSession
from tests.dashboard_support import hashing_encoder, make_user  # noqa: F401  (fixtures)
from tests.hostile import ENDPOINTS, HOST_ORIGIN, NOT_FUZZED, check_answer, make_world, probes

pytestmark = pytest.mark.django_db
EXAMPLES = 25
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=bool(os.environ.get("CI")),
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                             HealthCheck.data_too_large, HealthCheck.filter_too_much])


@pytest.fixture
def world(hashing_encoder):
    return make_world()


@pytest.fixture
def clients(world, client):
    from django.test import Client

    agent, admin = Client(), Client()
    agent.force_login(make_user("fuzz-agent", "agent"))
    admin.force_login(make_user("fuzz-admin", "admin"))
    return {"public": client, "anonymous": client, "agent": agent, "admin": admin}


def send(client, probe):
    response = client.generic(probe.method, probe.path, data=probe.body or b"", content_type=probe.content_type,
                              headers=probe.headers)
    return response.status_code, response.get("Content-Type", ""), response.content


def _route_names(patterns, namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            if p.namespace in ("helpdesk", "helpdesk_public"):
                yield from _route_names(p.url_patterns, p.namespace + ":")
        elif isinstance(p, URLPattern) and namespace and p.name:
            yield namespace + p.name


def test_every_route_is_fuzzed_or_says_why_not():
    routes = set(_route_names(get_resolver().url_patterns))
    fuzzed = {e.route for e in ENDPOINTS}
    assert routes - fuzzed - set(NOT_FUZZED) == set()
    assert (fuzzed | set(NOT_FUZZED)) - routes == set()  # no stale entries


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: f"{e.method} {e.route}")
@HYPOTHESIS
@given(data=st.data())
def test_hostile_requests_get_a_4xx_and_json_endpoints_a_json_error(endpoint, world, clients, data):
    probe = data.draw(probes(endpoint, world), label="probe")
    problem = check_answer(probe, *send(clients[endpoint.audience], probe))
    assert problem is None, problem


# --- the triggers an outside probe found (issue 13), one by one ------------------------------------------


def widget(client, world, path, body, **headers):
    return client.post(f"/desk/widget/v1/{world.key}/{path}", body, content_type="application/json",
                       headers={"Origin": HOST_ORIGIN, **headers})


@pytest.mark.parametrize("body, code", [
    ("[" * 1000 + "]" * 1000, "bad_request"),
    ("[" * 100_000 + "]" * 100_000, "bad_request"),
    ('{"q": ' + "[" * 100 + "]" * 100 + "}", "bad_request"),
    ('{"article_id": Infinity, "helpful": true}', "bad_request"),
    ('{"article_id": 1e400, "helpful": true}', "bad_request"),
    ('{"article_id": NaN, "helpful": true}', "bad_request"),
    ('{"article_id": ' + "9" * 5000 + ', "helpful": true}', "bad_request"),
])
def test_unusable_json_is_a_400_with_a_json_error_and_writes_nothing(client, world, body, code):
    before = WidgetSession.objects.count()
    response = widget(client, world, "votes/", body)
    assert response.status_code == 400
    assert response.json()["error"] == code and response.json()["message"]
    assert response["Access-Control-Allow-Origin"] == HOST_ORIGIN
    assert WidgetSession.objects.count() == before


def test_a_huge_id_is_simply_not_found(client, world):
    body = json.dumps({"session": world.session, "helpful": True, "article_id": 10**30})
    response = widget(client, world, "votes/", body)
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_nul_characters_in_widget_fields_are_dropped_and_the_request_served(client, world):
    response = widget(client, world, "sessions/", json.dumps({"visitor_id": "v\x00-1", "language": "e\x00s"}))
    assert response.status_code == 201
    session = WidgetSession.objects.get(public_id=response.json()["session"])
    assert (session.visitor_id, session.language) == ("v-1", "es")
    ticket = widget(client, world, "tickets/", json.dumps({"session": world.session, "email": "ana@example.com",
                                                           "name": "A\x00na", "message": "Where is my \x00refund?"}))
    assert ticket.status_code == 201
    filed = Ticket.objects.get(requester_email="ana@example.com")
    assert filed.requester_name == "Ana"
    assert "Where is my refund?" in filed.messages.values_list("body", flat=True)
    suggest = client.get(f"/desk/widget/v1/{world.key}/suggest/?q=refund%00&locale=%00", headers={"Origin": HOST_ORIGIN})
    assert suggest.status_code == 200 and "results" in suggest.json()


@pytest.mark.parametrize("key", ["%00", "pk_%00", "pk_abc%00def", "%ED%A0%80", "..%2F"])
def test_a_malformed_key_is_a_json_403_or_404(client, world, key):
    response = client.get(f"/desk/widget/v1/{key}/suggest/?q=refund")
    assert response.status_code in (403, 404)
    assert response.json()["error"] in ("unknown_key", "not_found")


def test_an_unknown_widget_url_is_a_json_404(client, world):
    response = client.post(f"/desk/widget/v1/{world.key}/nothing-here/", "{}", content_type="application/json")
    assert response.status_code == 404 and response.json()["error"] == "not_found"


def test_a_referer_that_is_no_url_is_no_origin(client, world):
    response = client.get(f"/desk/widget/v1/{world.key}/suggest/?q=refund", headers={"Referer": "http://[abc/"})
    assert response.status_code == 403 and response.json()["error"] == "origin_not_allowed"


@pytest.mark.parametrize("query", ["q=%00", "locale=%00", "q=%00&locale=%00&status=%00", "q=%ED%A0%80"])
def test_kb_search_with_nul_or_broken_utf8_is_an_ordinary_search(clients, world, query):
    response = clients["agent"].get(f"/desk/kb/?{query}")
    assert response.status_code == 200


def test_the_metrics_page_renders_while_redis_is_down(clients, world, settings):
    # Nobody listens there; Django's test signals rebuild the cache handler from the changed setting.
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    response = clients["agent"].get("/desk/metrics/")
    assert response.status_code == 200
    assert b"Deflection rate" in response.content
