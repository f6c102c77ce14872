"""Outgoing email through a real SMTP server (aiosmtpd in this process): headers, language, threading,
sending once, failures that are recorded and retried, and internal notes that never leave."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from helpdesk import mail_headers, mail_tokens
from helpdesk.models import Message, OutboundEmail, Ticket
from helpdesk.selectors.conversation import ticket_query
from helpdesk.services import email_out
from helpdesk.services.tickets import open_ticket, post_message, post_reply
from tests.dashboard_support import agent, agent_client  # noqa: F401
from tests.mail_support import html_of, smtp_server, text_of  # noqa: F401

pytestmark = pytest.mark.django_db

FROM = "Northwind Support <help@northwind.test>"


@pytest.fixture(autouse=True)
def desk_address(settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "FROM_EMAIL": FROM, "ENCODER": "hashing",
                         "SITE_URL": "https://desk.northwind.test", "EMAIL_RETRY_BACKOFF": 1}


def spanish_ticket() -> Ticket:
    ticket = open_ticket(subject="No puedo entrar a mi cuenta", requester_email="lucia@example.es",
                         requester_name="Lucía Fernández", language="es",
                         body="Olvidé mi contraseña y no puedo iniciar sesión.")
    ticket.messages.update(email_message_id="CAF-lucia-1@mail.example.es")  # it came by email
    return ticket


def test_public_reply_reaches_the_smtp_server_in_spanish_with_threading_headers(
        smtp_server, agent, django_capture_on_commit_callbacks):
    ticket = spanish_ticket()
    with django_capture_on_commit_callbacks() as callbacks:
        reply = post_reply(ticket=ticket, author=agent, body="Puede restablecerla aquí: https://northwind.test/reset <b>")
        assert smtp_server.messages == []  # nothing leaves before the commit
    assert len(callbacks) >= 1
    email = OutboundEmail.objects.get(message=reply)
    assert email.status == OutboundEmail.Status.QUEUED

    outcome = email_out.deliver(email_id=email.pk)

    assert outcome.sent and outcome.status == "sent"
    [sent] = smtp_server.messages
    reply.refresh_from_db()
    email.refresh_from_db()
    assert sent["Message-ID"] == f"<{reply.email_message_id}>" == f"<{email.email_message_id}>"
    assert reply.email_message_id.endswith("@northwind.test")
    assert sent["In-Reply-To"] == "<CAF-lucia-1@mail.example.es>"
    assert sent["References"] == "<CAF-lucia-1@mail.example.es>"
    assert sent["Reply-To"] == mail_tokens.reply_address(ticket.pk)
    assert mail_tokens.find_ticket_id(addresses=[sent["Reply-To"]]) == ticket.pk
    assert sent["Subject"] == f"Re: No puedo entrar a mi cuenta {mail_tokens.subject_tag(ticket.pk)}"
    assert sent["From"] == FROM and "lucia@example.es" in sent["To"]
    assert sent["Content-Language"] == "es"
    assert sent["Auto-Submitted"] is None  # a person wrote it
    assert mail_headers.is_own_mail(sent)
    text = text_of(sent)
    assert text.startswith("##- Por favor, escriba su respuesta encima de esta línea -##")
    assert "Hola, Lucía Fernández:" in text
    assert "Puede restablecerla aquí: https://northwind.test/reset <b>" in text
    assert "Responda a este correo para añadir información a su solicitud." in text
    html = html_of(sent)
    assert '<html lang="es" dir="ltr">' in html
    assert '<a href="https://northwind.test/reset" rel="noopener noreferrer nofollow">' in html
    assert "<b>" not in html and "&lt;b&gt;" in html  # the agent's text is text, not markup
    assert email.status == "sent" and email.sent_at is not None and email.language == "es"


def test_arabic_ticket_gets_a_right_to_left_email_and_an_unknown_language_falls_back(smtp_server, agent):
    arabic = open_ticket(subject="طلبي لم يصل", requester_email="omar@example.ae", language="ar",
                         body="طلبت حذاءً قبل أسبوع ولم يصل طلبي بعد.")
    swahili = open_ticket(subject="Agizo langu", requester_email="amani@example.tz", language="sw",
                          body="Agizo langu halijafika bado.")
    for ticket in (arabic, swahili):
        email = email_out.queue_reply(message=post_message(ticket=ticket, author_kind="agent", author=agent,
                                                           body="OK"))
        email_out.deliver(email_id=email.pk)
    ar, sw = smtp_server.messages
    assert ar["Content-Language"] == "ar" and 'dir="rtl"' in html_of(ar)
    assert "مرحبًا،" in text_of(ar)
    assert sw["Content-Language"] == "en" and "Hello," in text_of(sw)


def test_queueing_twice_is_one_email_and_a_task_run_twice_sends_once(smtp_server, agent):
    ticket = spanish_ticket()
    reply = post_reply(ticket=ticket, author=agent, body="Hola")
    first = email_out.queue_reply(message=reply)
    assert email_out.queue_reply(message=reply).pk == first.pk
    assert OutboundEmail.objects.filter(ticket=ticket).count() == 1

    assert email_out.deliver(email_id=first.pk).sent is True
    again = email_out.deliver(email_id=first.pk)

    assert again.sent is False and again.status == "sent"
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_moment_send_one_email(smtp_server, agent):
    ticket = spanish_ticket()
    email = OutboundEmail.objects.get(message=post_reply(ticket=ticket, author=agent, body="Hola"))
    start = threading.Barrier(4)
    outcomes = []

    def run():
        start.wait()
        try:
            outcomes.append(email_out.deliver(email_id=email.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(smtp_server.messages) == 1
    assert sum(o.sent for o in outcomes) == 1 and len(outcomes) == 4


def test_refused_email_is_failed_with_the_smtp_error_and_retry_sends_it(
        smtp_server, agent, agent_client, django_capture_on_commit_callbacks):
    ticket = spanish_ticket()
    email = OutboundEmail.objects.get(message=post_reply(ticket=ticket, author=agent, body="Hola"))
    assert "Queued for email" in agent_client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    smtp_server.mode = "reject"

    outcome = email_out.deliver(email_id=email.pk)

    email.refresh_from_db()
    assert outcome.retry_in is None and email.status == "failed"
    assert email.last_error == "550 5.7.1 Relaying denied for this recipient"
    page = agent_client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "Email failed" in page and "550 5.7.1 Relaying denied" in page
    assert f'action="/desk/emails/{email.pk}/retry/"' in page

    smtp_server.mode = "accept"
    with django_capture_on_commit_callbacks() as callbacks:
        response = agent_client.post(f"/desk/emails/{email.pk}/retry/")
    assert response.status_code == 302 and len(callbacks) == 1
    email.refresh_from_db()
    assert email.status == "queued"
    assert email_out.deliver(email_id=email.pk).sent
    assert len(smtp_server.messages) == 1
    page = agent_client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert "Emailed" in page and "Email failed" not in page
    # A second Retry of a sent email does nothing.
    assert email_out.retry_email(email_id=email.pk) is False


def test_temporary_refusal_is_retried_with_growing_delays_then_fails(smtp_server, agent, settings):
    settings.HELPDESK = {**settings.HELPDESK, "EMAIL_MAX_ATTEMPTS": 3, "EMAIL_RETRY_BACKOFF": 10}
    ticket = spanish_ticket()
    email = OutboundEmail.objects.get(message=post_reply(ticket=ticket, author=agent, body="Hola"))
    smtp_server.mode = "defer"
    delays = []
    for _ in range(2):
        outcome = email_out.deliver(email_id=email.pk)
        assert outcome.status == "queued" and outcome.retry_in is not None
        delays.append(outcome.retry_in)
    last = email_out.deliver(email_id=email.pk)
    email.refresh_from_db()
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20
    assert last.status == "failed" and last.retry_in is None
    assert email.attempts == 3 and email.last_error.startswith("451 4.3.0")
    assert smtp_server.messages == []


def test_unreachable_server_is_a_temporary_failure(settings, agent):
    from tests.mail_support import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens there
    ticket = spanish_ticket()
    email = OutboundEmail.objects.get(message=post_reply(ticket=ticket, author=agent, body="Hola"))
    outcome = email_out.deliver(email_id=email.pk)
    email.refresh_from_db()
    assert outcome.status == "queued" and outcome.retry_in is not None
    assert "ConnectionRefusedError" in email.last_error


def test_connection_lost_after_the_message_is_uncertain_and_not_sent_again(smtp_server, agent):
    ticket = spanish_ticket()
    email = OutboundEmail.objects.get(message=post_reply(ticket=ticket, author=agent, body="Hola"))
    smtp_server.mode = "drop"

    outcome = email_out.deliver(email_id=email.pk)
    email.refresh_from_db()

    assert len(smtp_server.messages) == 1  # the server did get it
    assert outcome.retry_in is None and email.status == "failed"
    assert email.last_error.startswith("Uncertain: ")
    email_out.deliver(email_id=email.pk)  # a duplicate task run
    assert len(smtp_server.messages) == 1


def test_a_send_cut_off_by_a_dead_worker_is_marked_uncertain_by_the_sweep(agent):
    from datetime import timedelta

    from django.utils import timezone

    ticket = spanish_ticket()
    email = OutboundEmail.objects.get(message=post_reply(ticket=ticket, author=agent, body="Hola"))
    OutboundEmail.objects.filter(pk=email.pk).update(status="sending",
                                                     claimed_at=timezone.now() - timedelta(hours=1))
    result = email_out.sweep_outbound()
    email.refresh_from_db()
    assert result["uncertain"] == 1 and email.status == "failed" and "Uncertain" in email.last_error


def test_internal_note_is_never_emailed_nor_part_of_the_customer_query(
        smtp_server, agent, agent_client, django_capture_on_commit_callbacks):
    ticket = spanish_ticket()
    with django_capture_on_commit_callbacks(execute=True):
        response = agent_client.post(f"/desk/tickets/{ticket.pk}/reply/",
                                     {"body": "Cliente VIP, revisar reembolso duplicado", "visibility": "internal"})
    assert response.status_code == 302
    note = ticket.messages.get(author_kind="agent")
    assert note.visibility == Message.Visibility.INTERNAL and note.email_message_id == ""
    assert not OutboundEmail.objects.filter(ticket=ticket).exists()
    assert "reembolso" not in ticket_query(ticket)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW  # a note is not an answer to the customer
    page = agent_client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert 'class="msg msg-agent msg-note"' in page and "Internal note" in page

    # The next public reply threads on the customer's email, not on the note, and does not quote it.
    reply = post_reply(ticket=ticket, author=agent, body="Hola Lucía")
    email_out.deliver(email_id=reply.delivery.pk)
    [sent] = smtp_server.messages
    assert "reembolso" not in sent.as_string()
    assert sent["References"] == "<CAF-lucia-1@mail.example.es>"


def test_reply_form_offers_public_reply_and_internal_note(agent_client):
    ticket = spanish_ticket()
    page = agent_client.get(f"/desk/tickets/{ticket.pk}/").content.decode()
    assert 'name="visibility" value="public" checked' in page
    assert 'name="visibility" value="internal"' in page
    assert "Emailed to lucia@example.es and shown to the customer." in page
    response = agent_client.post(f"/desk/tickets/{ticket.pk}/reply/", {"body": "x", "visibility": "shouting"})
    assert response.status_code == 400
    assert not ticket.messages.filter(author_kind="agent").exists()


def test_the_ticket_view_names_the_recipient_as_people_write_the_name(smtp_server, agent):
    ticket = open_ticket(subject="商品を返品したいです", requester_email="sakura.yamada@example.jp",
                         requester_name="山田さくら", language="ja", body="返品の方法を教えてください。")
    email = email_out.queue_reply(message=post_reply(ticket=ticket, author=agent, body="ご連絡ありがとうございます。"))
    email_out.deliver(email_id=email.pk)

    email.refresh_from_db()
    assert email.to_address == "山田さくら <sakura.yamada@example.jp>"
