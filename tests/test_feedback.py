"""Agents' suggestion feedback: the panel records what it shows once per customer message; marks and
inserts update the Suggestion and leave an Event."""

import pytest

from helpdesk.models import Event, Message, Suggestion
from helpdesk.services.tickets import open_ticket, post_message
from tests.dashboard_support import agent, agent_client, hashing_encoder  # noqa: F401
from tests.widget_support import load_kb

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(hashing_encoder):
    load_kb(keys=("reset-password", "track-order", "refund-timing"), locales=("en", "es"))
    return open_ticket(subject="Olvidé mi contraseña", requester_email="ana@example.es", language="es",
                       body="Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo restablezco la contraseña?")


def panel(client, ticket, after=None):
    url = f"/desk/tickets/{ticket.pk}/suggestions/" + (f"?after={after}" if after is not None else "")
    return client.get(url)


def test_panel_records_suggestions_once_per_customer_message(agent_client, ticket):
    first = panel(agent_client, ticket)
    assert first.status_code == 200
    rows = list(Suggestion.objects.filter(ticket=ticket).order_by("rank"))
    assert rows and [r.rank for r in rows] == list(range(1, len(rows) + 1))
    assert Event.objects.filter(ticket=ticket, kind__in=["suggestions_shown", "no_answer"]).count() == 1
    html = first.content.decode()
    assert rows[0].article.title in html and "confidence" in html
    # The passage shown is in whole sentences, not cut after 45 words with an ellipsis.
    quote = html.split("<blockquote", 1)[1].split(">", 1)[1].split("</blockquote>", 1)[0]
    assert "…" not in quote and quote.rstrip().endswith((".", "?", "!", "。"))

    latest = ticket.messages.filter(author_kind="customer").latest("id").pk
    assert panel(agent_client, ticket, after=latest).status_code == 204
    assert panel(agent_client, ticket).status_code == 200
    assert Suggestion.objects.filter(ticket=ticket).count() == len(rows)

    post_message(ticket=ticket, author_kind=Message.Author.CUSTOMER, body="¿Dónde está mi pedido? Quiero rastrear el envío.")
    refreshed = panel(agent_client, ticket, after=latest)
    assert refreshed.status_code == 200
    assert Suggestion.objects.filter(ticket=ticket).count() > len(rows)
    assert Event.objects.filter(ticket=ticket, kind__in=["suggestions_shown", "no_answer"]).count() == 2


def test_marking_helpful_and_not_helpful_is_recorded(agent_client, agent, ticket):
    panel(agent_client, ticket)
    s = Suggestion.objects.filter(ticket=ticket).order_by("rank").first()
    response = agent_client.post(f"/desk/suggestions/{s.pk}/feedback/", {"helpful": "1"})
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    s.refresh_from_db()
    assert (s.feedback, s.feedback_by) == ("helpful", agent)
    event = Event.objects.get(kind=Event.Kind.SUGGESTION_FEEDBACK, suggestion=s)
    assert (event.ticket_id, event.article_id, event.data["helpful"], event.data["rank"]) == (ticket.pk, s.article_id, True, 1)

    agent_client.post(f"/desk/suggestions/{s.pk}/feedback/", {"helpful": "0"})
    s.refresh_from_db()
    assert s.feedback == "not_helpful"
    assert Event.objects.filter(kind=Event.Kind.SUGGESTION_FEEDBACK, suggestion=s).count() == 2


def test_feedback_without_a_verdict_is_refused(agent_client, ticket):
    panel(agent_client, ticket)
    s = Suggestion.objects.filter(ticket=ticket).first()
    assert agent_client.post(f"/desk/suggestions/{s.pk}/feedback/", {"helpful": "maybe"}).status_code == 400
    s.refresh_from_db()
    assert s.feedback == ""
    assert not Event.objects.filter(kind=Event.Kind.SUGGESTION_FEEDBACK).exists()


def test_inserting_returns_title_summary_and_public_link_and_is_recorded(agent_client, ticket):
    panel(agent_client, ticket)
    s = Suggestion.objects.filter(ticket=ticket).order_by("rank").first()
    response = agent_client.post(f"/desk/suggestions/{s.pk}/insert/")
    assert response.status_code == 200
    text = response.json()["text"]
    title, summary, link = text.split("\n\n")[0], "\n\n".join(text.split("\n\n")[1:-1]), text.split("\n\n")[-1]
    assert title == s.article.title
    assert link == f"http://testserver/help/articles/{s.article_id}/"
    assert s.article.body.startswith(summary) and summary.endswith(".")  # whole sentences, as written
    # The customer can open the link without signing in.
    agent_client.logout()
    public = agent_client.get(link.removeprefix("http://testserver"))
    assert public.status_code == 200 and s.article.title in public.content.decode()
    s.refresh_from_db()
    assert s.inserted is True
    assert Event.objects.filter(kind=Event.Kind.SUGGESTION_INSERTED, suggestion=s, ticket=ticket).count() == 1


def test_feedback_endpoints_need_post(agent_client, ticket):
    panel(agent_client, ticket)
    s = Suggestion.objects.filter(ticket=ticket).first()
    assert agent_client.get(f"/desk/suggestions/{s.pk}/insert/").status_code == 405
    assert agent_client.get(f"/desk/suggestions/{s.pk}/feedback/").status_code == 405


def test_the_panel_shows_the_latest_showing_only_not_two_lists_interleaved(agent_client, ticket):
    # E.g. suggestions from full-text search alone while the knowledge base was still being embedded,
    # then the ticket asked again once the vectors were there (what `make run` does on a first start).
    from helpdesk.models import Article

    a, b, c = Article.objects.filter(locale="es").order_by("id")[:3]
    for rank, article in enumerate([a, b, c], 1):
        Suggestion.objects.create(ticket=ticket, article=article, rank=rank, score=0.2, confidence=0.2, query="q")
    for rank, article in enumerate([c, a], 1):
        Suggestion.objects.create(ticket=ticket, article=article, rank=rank, score=0.8, confidence=0.8, query="q")
    html = panel(agent_client, ticket).content.decode()
    assert html.count('<li class="suggestion') == 2
    assert html.index(c.title) < html.index(a.title) and b.title not in html
