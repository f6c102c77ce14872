"""Every JSON endpoint refuses in JSON: a wrong method, no session, a missing permission, a missing
object or a failed CSRF check is a 4xx whose body says why, never an empty body, a redirect to the
sign-in page or an HTML error page a script cannot read."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from helpdesk.models import Suggestion
from tests.dashboard_support import hashing_encoder, make_user  # noqa: F401  (fixtures)
from tests.hostile import ENDPOINTS, HOST_ORIGIN, make_world

pytestmark = pytest.mark.django_db

AGENT_JSON = [e for e in ENDPOINTS if e.json and e.audience == "agent"]
WIDGET_JSON = [e for e in ENDPOINTS if e.json and e.audience == "public"]


@pytest.fixture
def world(hashing_encoder):
    return make_world()


def url_of(endpoint, world) -> str:
    from django.urls import reverse

    values = {"key": world.key, "article": world.article, "suggestion": world.suggestion}
    return reverse(endpoint.route, args=[values[a] for a in endpoint.args])


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert body["error"] == code and body["message"]
    return body


def other_method(endpoint) -> str:
    return "POST" if endpoint.method == "GET" else "GET"


@pytest.mark.parametrize("endpoint", AGENT_JSON, ids=lambda e: e.route)
def test_agents_json_endpoints_answer_a_wrong_method_with_a_json_405_naming_the_allowed_one(world, endpoint):
    agent = Client()
    agent.force_login(make_user("agent-405", "agent"))
    for method in (other_method(endpoint), "PUT", "DELETE"):
        response = agent.generic(method, url_of(endpoint, world))
        assert_json_error(response, 405, "method_not_allowed")
        assert response["Allow"] == endpoint.method


@pytest.mark.parametrize("endpoint", AGENT_JSON, ids=lambda e: e.route)
def test_agents_json_endpoints_answer_no_session_with_a_json_401_not_a_redirect(world, endpoint):
    response = Client().generic(endpoint.method, url_of(endpoint, world))
    body = assert_json_error(response, 401, "not_signed_in")
    assert body["login_url"] == "/accounts/login/"
    assert response["WWW-Authenticate"]


@pytest.mark.parametrize("endpoint", AGENT_JSON, ids=lambda e: e.route)
def test_agents_json_endpoints_answer_a_missing_permission_with_a_json_403(world, endpoint):
    client = Client()
    client.force_login(User.objects.create_user("no-role", password="x-long-password"))
    response = client.generic(endpoint.method, url_of(endpoint, world))
    assert_json_error(response, 403, "forbidden")


def test_inserting_a_suggestion_that_does_not_exist_is_a_json_404(world):
    agent = Client()
    agent.force_login(make_user("agent-404", "agent"))
    missing = Suggestion.objects.order_by("-pk").first().pk + 1000
    assert_json_error(agent.post(f"/desk/suggestions/{missing}/insert/"), 404, "not_found")


def test_a_failed_csrf_check_is_a_json_403_on_json_endpoints_and_the_usual_page_elsewhere(world):
    agent = Client(enforce_csrf_checks=True)
    agent.force_login(make_user("agent-csrf", "agent"))
    assert_json_error(agent.post(f"/desk/suggestions/{world.suggestion}/insert/"), 403, "csrf_failed")
    page = agent.post(f"/desk/tickets/{world.ticket}/reply/", {"body": "hello"})
    assert page.status_code == 403 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("endpoint", WIDGET_JSON, ids=lambda e: e.route)
def test_widget_endpoints_answer_a_wrong_method_with_a_json_405(client, world, endpoint):
    response = client.generic(other_method(endpoint), url_of(endpoint, world), headers={"Origin": HOST_ORIGIN})
    assert_json_error(response, 405, "method_not_allowed")
    assert endpoint.method in response["Allow"]


@pytest.mark.parametrize("endpoint", WIDGET_JSON, ids=lambda e: e.route)
def test_widget_endpoints_answer_an_unknown_key_or_a_foreign_origin_with_a_json_403(client, world, endpoint):
    url = url_of(endpoint, world)
    response = client.generic(endpoint.method, url.replace(world.key, "pk_not-a-key"), headers={"Origin": HOST_ORIGIN})
    assert_json_error(response, 403, "unknown_key")
    response = client.generic(endpoint.method, url, headers={"Origin": "https://elsewhere.example"})
    assert_json_error(response, 403, "origin_not_allowed")


def test_a_widget_article_that_is_not_published_is_a_json_404(client, world):
    body = json.dumps({"session": world.session})
    response = client.post(f"/desk/widget/v1/{world.key}/articles/999999999/", body, content_type="application/json",
                           headers={"Origin": HOST_ORIGIN})
    assert_json_error(response, 404, "not_found")
