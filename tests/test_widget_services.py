"""Widget services: sessions, questions, openings, votes and tickets, each leaving its Event."""

import pytest
from django.core.exceptions import ValidationError

from helpdesk.models import Event, Message, Suggestion, Ticket, WidgetSite
from helpdesk.services import widget
from tests.widget_support import kb, site  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def kinds(session):
    return list(session.events.order_by("id").values_list("kind", flat=True))


def test_a_spanish_question_shows_the_spanish_article_and_records_what_was_shown(kb, site):
    session = widget.start_session(site=site, visitor_id="v1", language="es-ES")

    outcome = widget.record_query(session=session, text="¿Cómo restablezco mi contraseña olvidada?")

    assert outcome.language == "es"
    assert not outcome.no_answer
    assert outcome.suggestions[0].article_id == kb[("reset-password", "es")].id
    assert all(s.confidence >= outcome.threshold for s in outcome.suggestions)
    rows = Suggestion.objects.filter(widget_session=session).order_by("rank")
    assert [r.pk for r in rows] == outcome.suggestion_ids
    assert rows[0].article_id == kb[("reset-password", "es")].id
    assert kinds(session) == ["query", "suggestions_shown"]
    shown = session.events.get(kind="suggestions_shown")
    assert shown.data["text"] == "¿Cómo restablezco mi contraseña olvidada?"
    assert shown.data["article_ids"][0] == kb[("reset-password", "es")].id


def test_a_question_the_kb_cannot_answer_is_a_content_gap_with_no_suggestion_rows(kb, site):
    session = widget.start_session(site=site)

    outcome = widget.record_query(session=session, text="Do you sell replacement propellers for the X9 drone?")

    assert outcome.no_answer
    assert not Suggestion.objects.filter(widget_session=session).exists()
    assert kinds(session) == ["query", "no_answer"]
    gap = session.events.get(kind="no_answer")
    assert gap.data["text"] == "Do you sell replacement propellers for the X9 drone?"
    assert gap.language == "en"


def test_opening_and_voting_link_to_the_suggestion_shown(kb, site):
    session = widget.start_session(site=site)
    outcome = widget.record_query(session=session, text="How do I track my order?")
    article = kb[("track-order", "en")]
    assert outcome.suggestions[0].article_id == article.id

    opened = widget.record_article_opened(session=session, article=article)
    vote = widget.record_vote(session=session, helpful=True, article=article)

    assert opened.suggestion.pk == outcome.suggestion_ids[0]
    assert vote.kind == Event.Kind.VOTE_HELPFUL and vote.suggestion.pk == outcome.suggestion_ids[0]
    assert Suggestion.objects.get(pk=outcome.suggestion_ids[0]).feedback == "helpful"
    assert kinds(session) == ["query", "suggestions_shown", "article_opened", "vote_helpful"]


def test_a_draft_article_cannot_be_opened(site):
    from tests.widget_support import load_kb

    articles = load_kb(keys=("reset-password",), locales=("en",), draft_key="reset-password")
    session = widget.start_session(site=site)

    with pytest.raises(ValueError):
        widget.record_article_opened(session=session, article=articles[("reset-password", "en")])
    assert kinds(session) == []


def test_a_filed_ticket_carries_the_question_language_and_articles_seen(kb, site):
    session = widget.start_session(site=site, visitor_id="v2")
    widget.record_query(session=session, text="¿Cuánto tardan los reembolsos en llegar a mi tarjeta?")
    refund = kb[("refund-timing", "es")]
    widget.record_article_opened(session=session, article=refund)
    widget.record_vote(session=session, helpful=False, article=refund)

    ticket = widget.file_ticket(session=session, email="ana@example.com", name="Ana",
                                message="Pasaron tres semanas y todavía no veo el reembolso.")

    assert ticket.channel == Ticket.Channel.WIDGET and ticket.status == Ticket.Status.NEW
    assert ticket.subject == "¿Cuánto tardan los reembolsos en llegar a mi tarjeta?"
    assert ticket.language == "es"
    assert ticket.widget_session == session
    customer, note = ticket.messages.order_by("id")
    assert customer.author_kind == Message.Author.CUSTOMER
    assert customer.body == "Pasaron tres semanas y todavía no veo el reembolso."
    assert note.author_kind == Message.Author.SYSTEM
    assert refund.title in note.body
    filed = Event.objects.get(kind=Event.Kind.TICKET_FILED, ticket=ticket)
    assert filed.widget_session == session
    assert filed.data["question"] == ticket.subject
    assert filed.data["articles_opened"] == [refund.id]


def test_a_ticket_with_a_bad_email_is_refused_and_nothing_is_written(kb, site):
    session = widget.start_session(site=site)
    widget.record_query(session=session, text="How do I track my order?")
    before = kinds(session)

    with pytest.raises(ValidationError):
        widget.file_ticket(session=session, email="not an email", message="help")

    assert not Ticket.objects.exists()
    assert kinds(session) == before


def test_origins_are_normalised_and_wildcards_refused(db):
    assert widget.clean_origins("https://Shop.example.com/\nhttp://127.0.0.1:8001, https://shop.example.com") == \
        "https://shop.example.com\nhttp://127.0.0.1:8001"
    for bad in ("*", "https://*.example.com", "https://shop.example.com/help", "ftp://x.example", "shop.example.com"):
        with pytest.raises(ValidationError):
            widget.clean_origins(bad)


def test_rotating_replaces_the_key_and_revoking_disables_it(site):
    old = site.key
    widget.rotate_key(site=site)
    site.refresh_from_db()
    assert site.key != old and site.key.startswith("pk_") and not site.is_revoked
    assert not WidgetSite.objects.filter(key=old).exists()

    widget.revoke_key(site=site)
    site.refresh_from_db()
    assert site.is_revoked and site.revoked_at is not None
