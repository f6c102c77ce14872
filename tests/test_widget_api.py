"""The public widget API: keys, origins, CORS, rate limits, length caps and escaping."""

import json

import pytest
from django.contrib.auth.models import Permission, User

from helpdesk.models import Event, Suggestion, Ticket, WidgetSession
from helpdesk.services.widget import revoke_key, rotate_key
from tests.widget_support import HOST_ORIGIN, kb, load_kb, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

EVIL_ORIGIN = "https://evil.example.net"


def url(site_or_key, path):
    key = getattr(site_or_key, "key", site_or_key)
    return f"/desk/widget/v1/{key}/{path}"


def post(client, site_or_key, path, payload, *, origin=HOST_ORIGIN, addr="203.0.113.7", **extra):
    headers = {"HTTP_ORIGIN": origin, **extra} if origin else extra
    return client.post(url(site_or_key, path), json.dumps(payload), content_type="application/json",
                       REMOTE_ADDR=addr, **headers)


def new_session(client, site) -> str:
    response = post(client, site, "sessions/", {"language": "en-US"})
    assert response.status_code == 201, response.content
    return response.json()["session"]


def nothing_written():
    return (WidgetSession.objects.count(), Event.objects.count(), Suggestion.objects.count(), Ticket.objects.count())


def test_preflight_from_an_allowed_origin_names_exactly_that_origin(client, site):
    response = client.options(url(site, "queries/"), HTTP_ORIGIN=HOST_ORIGIN,
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                              HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type")

    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == HOST_ORIGIN
    assert response["Access-Control-Allow-Methods"] == "POST"
    assert response["Access-Control-Allow-Headers"] == "Content-Type"
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Credentials" not in response


@pytest.mark.parametrize("origin", [EVIL_ORIGIN, "https://shop.example.com.evil.net", "http://shop.example.com", None])
def test_a_disallowed_origin_gets_403_without_cors_headers_and_changes_nothing(client, site, origin):
    before = nothing_written()
    preflight = client.options(url(site, "sessions/"), HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
                               **({"HTTP_ORIGIN": origin} if origin else {}))
    response = post(client, site, "sessions/", {}, origin=origin)

    for r in (preflight, response):
        assert r.status_code == 403
        assert "Access-Control-Allow-Origin" not in r
    assert response.json()["error"] == "origin_not_allowed"
    assert nothing_written() == before


def test_a_wrong_key_gets_403_and_changes_nothing(client, site):
    before = nothing_written()
    response = post(client, "pk_not-a-real-key", "sessions/", {})

    assert response.status_code == 403
    assert response.json()["error"] == "unknown_key"
    assert "Access-Control-Allow-Origin" not in response
    assert nothing_written() == before


def test_a_revoked_key_gets_403_and_a_rotated_old_key_is_unknown(client, site):
    session = new_session(client, site)
    revoke_key(site=site)
    before = nothing_written()

    revoked = post(client, site, "queries/", {"session": session, "q": "How do I track my order?"})
    assert revoked.status_code == 403 and revoked.json()["error"] == "revoked_key"
    assert nothing_written() == before

    old_key = site.key
    rotate_key(site=site)
    assert post(client, old_key, "sessions/", {}).json()["error"] == "unknown_key"
    assert post(client, site, "sessions/", {}).status_code == 201


def test_an_over_long_question_is_refused_and_nothing_is_recorded(client, site, settings):
    settings.HELPDESK = {**settings.HELPDESK, "MAX_QUERY_CHARS": 50}
    session = new_session(client, site)
    before = nothing_written()

    response = post(client, site, "queries/", {"session": session, "q": "password " * 10})
    suggest = client.get(url(site, "suggest/"), {"q": "x" * 51}, HTTP_ORIGIN=HOST_ORIGIN)

    for r in (response, suggest):
        assert r.status_code == 400
        assert r.json() == {"error": "query_too_long", "message": "Questions may be at most 50 characters long.",
                            "max_chars": 50}
        assert r["Access-Control-Allow-Origin"] == HOST_ORIGIN
    assert nothing_written() == before


def test_a_burst_over_the_per_address_limit_gets_429_with_retry_after_and_records_nothing(client, site):
    site.client_requests_per_minute = 3
    site.save()
    session = new_session(client, site)  # 1
    ok = [post(client, site, "queries/", {"session": session, "q": "How do I track my order?"}) for _ in range(2)]
    before = nothing_written()

    over = post(client, site, "queries/", {"session": session, "q": "How do I reset my password?"})

    assert [r.status_code for r in ok] == [200, 200]
    assert over.status_code == 429
    assert 1 <= int(over["Retry-After"]) <= 60
    assert over["Access-Control-Allow-Origin"] == HOST_ORIGIN
    assert "Retry-After" in over["Access-Control-Expose-Headers"]
    assert nothing_written() == before
    # Another visitor's address has its own allowance.
    assert post(client, site, "queries/", {"session": session, "q": "refund"}, addr="198.51.100.9").status_code == 200


def test_a_forged_forwarded_for_header_buys_no_fresh_allowance(client, site):
    site.client_requests_per_minute = 1
    site.save()
    assert post(client, site, "sessions/", {}, HTTP_X_FORWARDED_FOR="192.0.2.1").status_code == 201
    assert post(client, site, "sessions/", {}, HTTP_X_FORWARDED_FOR="192.0.2.2").status_code == 429


def test_behind_a_trusted_proxy_each_visitor_has_an_allowance(client, site, settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "TRUSTED_PROXIES": 1}
    site.client_requests_per_minute = 1
    site.save()
    proxy = "10.0.0.5"  # every request reaches the app from the proxy's address
    # The visitor may prepend anything; the proxy appends the address it saw.
    first = post(client, site, "sessions/", {}, addr=proxy, HTTP_X_FORWARDED_FOR="6.6.6.6, 192.0.2.1")
    again = post(client, site, "sessions/", {}, addr=proxy, HTTP_X_FORWARDED_FOR="7.7.7.7, 192.0.2.1")
    other = post(client, site, "sessions/", {}, addr=proxy, HTTP_X_FORWARDED_FOR="192.0.2.2")
    assert [first.status_code, again.status_code, other.status_code] == [201, 429, 201]


def test_the_per_key_limit_covers_all_visitors_together(client, site):
    site.requests_per_minute = 2
    site.save()
    codes = [post(client, site, "sessions/", {}, addr=f"192.0.2.{i}").status_code for i in range(1, 4)]
    assert codes == [201, 201, 429]
    assert WidgetSession.objects.count() == 2


def test_preflight_does_not_use_up_the_allowance(client, site):
    site.client_requests_per_minute = 1
    site.save()
    for _ in range(5):
        assert client.options(url(site, "sessions/"), HTTP_ORIGIN=HOST_ORIGIN,
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST").status_code == 204
    assert post(client, site, "sessions/", {}).status_code == 201


def test_bad_input_gets_a_clear_400_never_a_500(client, site):
    session = new_session(client, site)
    bad_json = client.post(url(site, "queries/"), "{not json", content_type="application/json",
                           HTTP_ORIGIN=HOST_ORIGIN)
    assert bad_json.status_code == 400 and bad_json.json()["error"] == "bad_request"
    assert post(client, site, "queries/", {"session": session, "q": "   "}).json()["error"] == "empty_query"
    assert post(client, site, "queries/", {"session": "nope", "q": "refund"}).json()["error"] == "unknown_session"
    assert post(client, site, "votes/", {"session": session, "helpful": "yes"}).json()["error"] == "bad_vote"
    wrong_method = client.get(url(site, "queries/"), HTTP_ORIGIN=HOST_ORIGIN)
    assert wrong_method.status_code == 405 and "POST" in wrong_method["Allow"]
    bad_ticket = post(client, site, "tickets/", {"session": session, "email": "nope", "message": "hi"})
    assert bad_ticket.status_code == 400 and "email" in bad_ticket.json()["fields"]
    assert not Ticket.objects.exists()


def test_a_lone_surrogate_in_the_json_is_answered_not_a_500(client, site, kb):
    # JSON may escape half a UTF-16 pair ("\\ud800"); Python decodes it to a string PostgreSQL and
    # the language detectors refuse.
    session = new_session(client, site)
    body = '{"session": "%s", "q": "how long does a refund take \\ud800 to my card"}' % session
    response = client.post(url(site, "queries/"), body, content_type="application/json", HTTP_ORIGIN=HOST_ORIGIN)
    assert response.status_code == 200
    assert response.json()["results"]
    ticket = client.post(url(site, "tickets/"), '{"session": "%s", "email": "a@example.com", "message": '
                         '"still waiting \\udfff for my refund"}' % session,
                         content_type="application/json", HTTP_ORIGIN=HOST_ORIGIN)
    assert ticket.status_code in (200, 201)
    assert "still waiting ? for my refund" in "\n".join(Ticket.objects.get().messages.values_list("body", flat=True))


def test_a_session_of_another_site_is_unknown_here(client, site):
    from helpdesk.services.widget import save_site

    other = save_site(name="Other", allowed_origins=HOST_ORIGIN)
    session = new_session(client, other)
    response = post(client, site, "queries/", {"session": session, "q": "refund"})
    assert response.status_code == 400 and response.json()["error"] == "unknown_session"


def test_drafts_are_never_exposed(client, site):
    articles = load_kb(keys=("reset-password", "track-order"), locales=("en",), draft_key="reset-password")
    draft = articles[("reset-password", "en")]
    session = new_session(client, site)

    typed = client.get(url(site, "suggest/"), {"q": "I forgot my password, how do I reset it?"},
                       HTTP_ORIGIN=HOST_ORIGIN, REMOTE_ADDR="203.0.113.8").json()
    asked = post(client, site, "queries/", {"session": session, "q": "I forgot my password, how do I reset it?"}).json()
    opened = post(client, site, f"articles/{draft.pk}/", {"session": session})

    assert draft.pk not in [r["article_id"] for r in typed["results"] + asked["results"]]
    assert opened.status_code == 404
    assert not Event.objects.filter(kind=Event.Kind.ARTICLE_OPENED).exists()


def test_the_whole_journey_through_the_api(client, site, kb):
    session = new_session(client, site)

    typed = client.get(url(site, "suggest/"), {"q": "¿Cómo hago el seguimiento de mi pedido?", "locale": "en"}, HTTP_ORIGIN=HOST_ORIGIN)
    assert typed.status_code == 200
    assert typed.json()["results"][0]["article_id"] == kb[("track-order", "es")].pk
    assert not Event.objects.exists()  # typing ahead is not a question asked

    asked = post(client, site, "queries/", {"session": session, "q": "¿Dónde está mi pedido? No ha llegado"}).json()
    assert asked["language"] == "es" and asked["dir"] == "ltr" and asked["no_answer"] is False
    first = asked["results"][0]
    assert first["article_id"] == kb[("track-order", "es")].pk and first["suggestion_id"]
    assert "url" not in first

    opened = post(client, site, f"articles/{first['article_id']}/", {"session": session,
                                                                     "suggestion_id": first["suggestion_id"]})
    assert opened.json()["title"] == kb[("track-order", "es")].title
    assert opened.json()["body"] == kb[("track-order", "es")].body
    assert post(client, site, "votes/", {"session": session, "helpful": True,
                                         "article_id": first["article_id"]}).status_code == 201

    ws = WidgetSession.objects.get(public_id=session)
    assert list(ws.events.values_list("kind", flat=True)) == [
        "query", "suggestions_shown", "article_opened", "vote_helpful"]
    assert ws.events.get(kind="article_opened").suggestion_id == first["suggestion_id"]


def test_an_arabic_question_is_answered_right_to_left(client, site, kb):
    session = new_session(client, site)
    asked = post(client, site, "queries/", {"session": session, "q": "أين طلبي؟ كيف أتتبع الطلب"}).json()
    assert asked["language"] == "ar" and asked["dir"] == "rtl"
    assert asked["results"][0]["article_id"] == kb[("track-order", "ar")].pk
    assert asked["results"][0]["dir"] == "rtl"


def test_html_in_a_question_is_stored_as_text_and_escaped_in_the_agent_queue(client, site, kb):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)> where is my order'
    session = new_session(client, site)
    asked = post(client, site, "queries/", {"session": session, "q": attack})
    filed = post(client, site, "tickets/", {"session": session, "email": "eve@example.com",
                                            "message": "<b>bold</b> please"})

    assert asked.status_code == 200 and asked["Content-Type"] == "application/json"
    assert filed.status_code == 201
    ticket = Ticket.objects.get()
    assert ticket.subject == attack  # stored as the customer typed it ...
    assert Event.objects.get(kind="query").data["text"] == attack

    agent = User.objects.create_user("agent", password="a-long-test-password")
    agent.user_permissions.add(Permission.objects.get(codename="view_ticket"))
    client.force_login(agent)
    for path in ("/desk/", f"/desk/tickets/{ticket.pk}/"):
        page = client.get(path).content.decode()
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page  # ... and shown as text
        assert '<script>alert("x")' not in page and "<img src=x" not in page and "<b>bold</b>" not in page


def test_a_ticket_from_the_widget_reaches_the_queue_with_question_and_language(client, site, kb):
    session = new_session(client, site)
    asked = post(client, site, "queries/", {"session": session,
                                            "q": "¿Venden hélices de repuesto para el dron X9 modelo 2019?"}).json()
    assert asked["no_answer"] is True and asked["results"] == []

    filed = post(client, site, "tickets/", {"session": session, "email": "luis@example.com", "name": "Luis",
                                            "message": "Necesito cuatro hélices."})

    assert filed.status_code == 201 and filed.json()["language"] == "es"
    ticket = Ticket.objects.get()
    assert (ticket.subject, ticket.language, ticket.channel) == (
        "¿Venden hélices de repuesto para el dron X9 modelo 2019?", "es", "widget")
    gap = Event.objects.get(kind="no_answer")
    assert gap.data["text"] == ticket.subject


def test_with_redis_gone_the_widget_still_answers_without_rate_limits(client, site, settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nobody listens there
    response = post(client, site, "sessions/", {"language": "en-US"})
    assert response.status_code == 201, response.content
    assert WidgetSession.objects.filter(public_id=response.json()["session"]).exists()
    assert "rate limiter unavailable" in caplog.text
