"""The acknowledgement that deflects: a new ticket's customer gets confident articles by email, each with
a signed "this answered my question" link; following it (GET asks, POST acts) solves the ticket and
counts as email deflection on the metrics page. Forged or expired links change nothing."""

from __future__ import annotations

import re
import time
from unittest import mock

import pytest

from helpdesk import answer_links, mail_headers, mail_tokens
from helpdesk.models import Event, Message, OutboundEmail, Ticket
from helpdesk.services import email_out
from helpdesk.services.tickets import open_ticket
from tests.dashboard_support import admin_client_, admin_user_, agent, agent_client  # noqa: F401
from tests.mail_support import smtp_server, text_of  # noqa: F401
from tests.widget_support import load_kb

pytestmark = pytest.mark.django_db

ANSWER_LINK = re.compile(r"https://desk\.northwind\.test(/help/answered/[^/\s]+/)")


@pytest.fixture(autouse=True)
def desk(settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "FROM_EMAIL": "Northwind <help@northwind.test>",
                         "SITE_URL": "https://desk.northwind.test"}


@pytest.fixture
def kb(db):
    # The real default encoder: whether an article is confident enough to send is the engine's call.
    return load_kb(keys=("reset-password", "track-order", "refund-timing"), locales=("en", "es"))


def email_ticket(**overrides) -> Ticket:
    fields = dict(subject="No puedo entrar a mi cuenta", requester_email="lucia@example.es",
                  requester_name="Lucía", channel=Ticket.Channel.EMAIL,
                  body="Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo restablezco la contraseña?")
    fields.update(overrides)
    ticket = open_ticket(**fields)
    ticket.messages.update(email_message_id="lucia-first@mail.example.es")
    return ticket


def acknowledge(ticket: Ticket):
    email = email_out.queue_acknowledgement(ticket.pk)
    assert email is not None
    assert email_out.deliver(email_id=email.pk).sent
    email.refresh_from_db()
    return email


def test_acknowledgement_in_spanish_suggests_the_right_article_with_an_answer_link(smtp_server, kb):
    ticket = email_ticket()
    email = acknowledge(ticket)

    [sent] = smtp_server.messages
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["Subject"] == f"Hemos recibido su solicitud: No puedo entrar a mi cuenta {mail_tokens.subject_tag(ticket.pk)}"
    assert sent["In-Reply-To"] == "<lucia-first@mail.example.es>"
    assert sent["Content-Language"] == "es" and mail_headers.is_own_mail(sent)
    text = text_of(sent)
    assert "Gracias por escribirnos." in text
    assert "* Restablecer una contraseña olvidada" in text
    assert f"https://desk.northwind.test/help/articles/{kb[('reset-password', 'es')].pk}/" in text
    assert email.articles[0] == kb[("reset-password", "es")].pk and len(email.articles) <= 3
    assert len(ANSWER_LINK.findall(text)) == len(email.articles)
    event = Event.objects.get(kind=Event.Kind.ACKNOWLEDGEMENT_SENT, ticket=ticket)
    assert event.data["articles"] == email.articles and event.language == "es"


def test_queueing_the_acknowledgement_twice_sends_one(smtp_server, kb):
    ticket = email_ticket()
    first = email_out.queue_acknowledgement(ticket.pk)
    assert email_out.queue_acknowledgement(ticket.pk).pk == first.pk
    email_out.deliver(email_id=first.pk)
    email_out.deliver(email_id=first.pk)
    assert len(smtp_server.messages) == 1


def test_answer_link_asks_on_get_solves_on_post_and_the_metrics_count_it(smtp_server, kb, client, agent_client):
    ticket = email_ticket()
    acknowledge(ticket)
    path = ANSWER_LINK.search(text_of(smtp_server.messages[0])).group(1)
    assert "0 tickets closed" in agent_client.get("/desk/metrics/").content.decode()

    page = client.get(path)  # what a link scanner or a mail preview does
    assert page.status_code == 200 and "no-store" in page["Cache-Control"]  # "private" too when signed in
    html = page.content.decode()
    assert '<html lang="es"' in html and "¿Respondió esto a su pregunta?" in html
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW
    assert not Event.objects.filter(kind=Event.Kind.EMAIL_DEFLECTED).exists()

    done = client.post(path)
    assert done.status_code == 200 and "¡Gracias!" in done.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED and ticket.solved_at is not None
    deflection = Event.objects.get(kind=Event.Kind.EMAIL_DEFLECTED, ticket=ticket)
    assert deflection.article.title == "Restablecer una contraseña olvidada"
    assert Event.objects.filter(kind=Event.Kind.TICKET_RESOLVED, ticket=ticket).count() == 1
    note = ticket.messages.get(author_kind=Message.Author.SYSTEM)
    assert note.visibility == Message.Visibility.INTERNAL

    client.post(path)  # a second click counts nothing more
    assert Event.objects.filter(kind=Event.Kind.EMAIL_DEFLECTED).count() == 1
    metrics = agent_client.get("/desk/metrics/").content.decode()
    assert re.search(r'data-testid="email-deflection-rate">100.0%<', metrics)
    assert "1 tickets closed by “this answered my question”, of 1 acknowledged with suggestions" in metrics


def test_forged_or_expired_links_change_nothing(smtp_server, kb, client, settings):
    ticket = email_ticket()
    email = acknowledge(ticket)
    article_id = email.articles[0]
    good = answer_links.make_token(ticket_id=ticket.pk, article_id=article_id, email_id=email.pk)
    forged = good[:-3] + ("aaa" if not good.endswith("aaa") else "bbb")
    other_ticket = email_ticket(requester_email="eve@example.com")
    renumbered = answer_links.make_token(ticket_id=other_ticket.pk, article_id=article_id, email_id=email.pk)
    with mock.patch("django.core.signing.time.time", return_value=time.time() - 31 * 86400):
        expired = answer_links.make_token(ticket_id=ticket.pk, article_id=article_id, email_id=email.pk)

    for token, message in ((forged, "not valid"), (expired, "has expired"), (renumbered, "not valid"),
                           ("garbage", "not valid")):
        for method in (client.get, client.post):
            response = method(f"/help/answered/{token}/")
            assert response.status_code == 400 and message in response.content.decode()
    ticket.refresh_from_db()
    other_ticket.refresh_from_db()
    assert ticket.status == other_ticket.status == Ticket.Status.NEW
    assert not Event.objects.filter(kind=Event.Kind.EMAIL_DEFLECTED).exists()


def test_link_on_a_ticket_an_agent_already_solved_counts_nothing(smtp_server, kb, client):
    from helpdesk.services.tickets import update_ticket

    ticket = email_ticket()
    acknowledge(ticket)
    path = ANSWER_LINK.search(text_of(smtp_server.messages[0])).group(1)
    update_ticket(ticket=ticket, status=Ticket.Status.SOLVED)
    response = client.post(path)
    assert "Esta solicitud ya está cerrada" in response.content.decode()
    assert not Event.objects.filter(kind=Event.Kind.EMAIL_DEFLECTED).exists()


def test_admins_turn_the_acknowledgement_or_its_suggestions_off(smtp_server, kb, admin_client_, agent):
    from django.test import Client

    agent_client = Client()
    agent_client.force_login(agent)
    assert agent_client.post("/desk/settings/acknowledgements/", {}).status_code == 403
    page = admin_client_.get("/desk/settings/").content.decode()
    assert 'name="send_acknowledgements" id="id_send_acknowledgements" checked' in page

    admin_client_.post("/desk/settings/acknowledgements/", {"send_acknowledgements": "on"})
    ticket = email_ticket()
    email = acknowledge(ticket)
    assert email.articles == []
    text = text_of(smtp_server.messages[0])
    assert "Gracias por escribirnos." in text and "/help/answered/" not in text
    # Acknowledged without suggestions: not part of the email deflection's coverage.
    assert "of 0 acknowledged with suggestions" in agent_client.get("/desk/metrics/").content.decode()

    admin_client_.post("/desk/settings/acknowledgements/", {})
    assert email_out.queue_acknowledgement(email_ticket(requester_email="x@example.com").pk) is None


def test_widget_ticket_is_acknowledged_without_the_articles_the_customer_already_saw(
        smtp_server, kb, django_capture_on_commit_callbacks):
    from helpdesk.services.widget import file_ticket, record_query, save_site, start_session

    site = save_site(name="Shop", allowed_origins="https://shop.example.com", default_locale="es")
    session = start_session(site=site, visitor_id="v1")
    outcome = record_query(session=session, text="Olvidé mi contraseña, ¿cómo la restablezco?")
    assert outcome.suggestions
    with django_capture_on_commit_callbacks() as callbacks:
        ticket = file_ticket(session=session, email="lucia@example.es", message="Nada de eso funcionó.")
    assert callbacks  # queued after commit
    email = OutboundEmail.objects.get(ticket=ticket, kind=OutboundEmail.Kind.ACKNOWLEDGEMENT)
    email_out.deliver(email_id=email.pk)
    email.refresh_from_db()
    assert not set(email.articles) & {s.article_id for s in outcome.suggestions}
    assert len(smtp_server.messages) == 1
    journey = ticket.messages.get(author_kind=Message.Author.SYSTEM)
    assert journey.visibility == Message.Visibility.INTERNAL  # the widget's note is for agents


def test_own_mail_mark_is_signed():
    message_id = "abc.t1@northwind.test"
    headers = {"Message-ID": f"<{message_id}>", mail_headers.HEADER: mail_headers.own_mail_mark(message_id)}
    assert mail_headers.is_own_mail(headers)
    assert not mail_headers.is_own_mail({**headers, "Message-ID": "<customer-reply@example.es>"})
    assert not mail_headers.is_own_mail({"Message-ID": f"<{message_id}>", mail_headers.HEADER: "v1 0000"})
    assert not mail_headers.is_own_mail({"Message-ID": f"<{message_id}>"})


def test_at_most_three_articles_however_many_clear_the_threshold(smtp_server, settings):
    from helpdesk.services.desk_settings import set_confidence_threshold

    load_kb(locales=("en", "es"))  # five topics
    set_confidence_threshold(value=0.0)  # every article the engine finds clears it
    email = acknowledge(email_ticket())
    assert len(email.articles) == 3
    assert len(ANSWER_LINK.findall(text_of(smtp_server.messages[0]))) == 3
