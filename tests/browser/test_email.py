"""Email in Debian's Chromium, with a real Celery worker sending to a real SMTP server (aiosmtpd here):
an agent replies in Spanish and adds an internal note, and only the reply leaves; a customer follows the
acknowledgement's "this answered my question" link and the metrics page counts the email deflection."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from helpdesk.models import Message, OutboundEmail, Ticket
from helpdesk.services.email_out import queue_acknowledgement
from helpdesk.services.tickets import open_ticket
from tests.browser.conftest import sign_in
from tests.conftest import WorkerProcess, service_env, wait_until
from tests.dashboard_support import PASSWORD, make_user
from tests.mail_support import SmtpServer, text_of
from tests.widget_support import load_kb

pytestmark = [pytest.mark.browser, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def smtp():
    server = SmtpServer()
    server.controller.start()
    yield server
    server.controller.stop()


@pytest.fixture(scope="module")
def mail_worker(smtp, live_server, django_db_setup, django_db_blocker, tmp_path_factory):
    """A real worker whose mail goes to the test's SMTP server and whose links point at the live server."""
    from config.celery import app

    with django_db_blocker.unblock():
        env = service_env(EMAIL_URL=smtp.url, HELPDESK_SITE_URL=live_server.url,
                          HELPDESK_FROM_EMAIL="Northwind <help@northwind.test>")
    app.control.purge()
    worker = WorkerProcess(tmp_path_factory.mktemp("mail-worker") / "celery.log", env).start()
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def fresh_mailbox(smtp):
    smtp.messages.clear()


def test_agent_replies_in_spanish_and_adds_a_note_and_only_the_reply_is_emailed(page, live_server, smtp,
                                                                             mail_worker):
    make_user("ana", "agent")
    ticket = open_ticket(subject="No puedo entrar a mi cuenta", requester_email="lucia@example.es",
                         requester_name="Lucía", body="Olvidé mi contraseña y no puedo iniciar sesión.")
    assert ticket.language == "es"
    sign_in(page, live_server, "ana", PASSWORD)
    page.goto(f"{live_server.url}/desk/tickets/{ticket.pk}/")

    page.fill("#id_body", "Hola Lucía, puede restablecer la contraseña desde «¿Olvidó su contraseña?».")
    page.get_by_role("button", name="Send reply").click()
    reply = page.locator(".msg-agent").filter(has_text="puede restablecer la contraseña")
    expect(reply.get_by_test_id("delivery")).to_contain_text("Emailed", timeout=60_000)

    page.get_by_label("Internal note").check()
    button = page.locator("#reply-form button[type=submit]")
    expect(button).to_have_text("Add internal note")
    textarea_colour = page.eval_on_selector("#id_body", "e => getComputedStyle(e).backgroundColor")
    assert textarea_colour == "rgb(255, 248, 197)"  # notes are yellow before they are even sent
    page.fill("#id_body", "NOTA: cliente VIP, no mencionar el reembolso pendiente.")
    button.click()
    note = page.locator(".msg-note")
    expect(note).to_contain_text("cliente VIP")
    expect(note.locator(".note-badge")).to_have_text("Internal note")
    expect(note.get_by_test_id("delivery")).to_have_count(0)

    time.sleep(3)  # give a wrongly queued note every chance to arrive
    assert len(smtp.messages) == 1, [m["Subject"] for m in smtp.messages]
    [sent] = smtp.messages
    assert sent["Content-Language"] == "es" and "lucia@example.es" in sent["To"]
    text = text_of(sent)
    assert "Hola, Lucía:" in text and "Por favor, escriba su respuesta encima de esta línea" in text
    assert "puede restablecer la contraseña" in text
    assert all("VIP" not in m.as_string() for m in smtp.messages)
    assert not OutboundEmail.objects.filter(message__visibility=Message.Visibility.INTERNAL).exists()


def test_customer_follows_the_answer_link_and_the_metrics_count_the_email_deflection(
        browser, page, live_server, smtp, mail_worker):
    load_kb(keys=("reset-password", "track-order"), locales=("es",))
    make_user("ana", "agent")
    ticket = open_ticket(subject="No puedo entrar a mi cuenta", requester_email="lucia@example.es",
                         channel=Ticket.Channel.EMAIL,
                         body="Olvidé mi contraseña y no puedo iniciar sesión. ¿Cómo restablezco la contraseña?")
    queue_acknowledgement(ticket.pk)
    wait_until(lambda: smtp.messages, timeout=90, message=f"the acknowledgement\n{mail_worker.tail()}")
    [ack] = smtp.messages
    assert ack["Auto-Submitted"] == "auto-replied"
    links = re.findall(r"https?://\S+/help/answered/\S+/", text_of(ack))
    assert links and links[0].startswith(live_server.url)

    context = browser.new_context(locale="es-ES")
    customer = context.new_page()
    forged = customer.goto(links[0][:-4] + "xyz/")
    assert forged.status == 400
    expect(customer.get_by_role("heading")).to_have_text("Este enlace no es válido")
    customer.goto(links[0])
    expect(customer.get_by_role("heading")).to_have_text("¿Respondió esto a su pregunta?")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.NEW  # opening the link changed nothing
    customer.get_by_role("button", name="Sí, esto respondió a mi pregunta").click()
    expect(customer.get_by_role("heading")).to_have_text("¡Gracias!")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.SOLVED
    context.close()

    sign_in(page, live_server, "ana", PASSWORD)
    page.goto(f"{live_server.url}/desk/metrics/")
    expect(page.get_by_test_id("email-deflection-rate")).to_have_text("100.0%")
    expect(page.get_by_test_id("email-deflection-counts")).to_contain_text("1 tickets closed")
