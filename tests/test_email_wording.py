"""The exact words of the desk's emails come from the shipped catalog of the ticket's language.

Each email goes through a real SMTP server (aiosmtpd in this process); the words around the agent's
text must be the shipped catalog's, never English, and a language we do not ship falls back to English.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from helpdesk import catalogs
from helpdesk.mail_compose import email_language
from helpdesk.models import Ticket
from helpdesk.services import email_out
from helpdesk.services.tickets import open_ticket, post_reply
from tests.dashboard_support import agent  # noqa: F401
from tests.mail_support import html_of, smtp_server, text_of  # noqa: F401

pytestmark = pytest.mark.django_db

SHIPPED = [code for code, _ in settings.LANGUAGES]
RTL = {"ar", "he", "fa", "ur"}


@pytest.fixture(autouse=True)
def desk(settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "ENCODER": "hashing",
                         "FROM_EMAIL": "Northwind Support <help@northwind.test>"}


def translated(code: str, msgid: str) -> str:
    if code == "en":
        return msgid
    [entry] = [e for e in catalogs.read_po(catalogs.po_path(code)) if e.msgid == msgid]
    return entry.msgstr[0]


def test_regional_and_unshipped_tags_map_to_a_shipped_language():
    assert [email_language(t) for t in ("pt-BR", "fr-CA", "zh-TW", "zh-Hans-CN", "zh", "no", "iw", "es_MX")] == [
        "pt", "fr", "zh-hant", "zh-hans", "zh-hans", "nb", "he", "es"]
    assert email_language("sw") == email_language("") == email_language(None) == "en"


@pytest.mark.parametrize("code", SHIPPED)
def test_reply_and_acknowledgement_speak_the_tickets_language(code, smtp_server, agent):
    ticket = open_ticket(subject="Question", requester_email="customer@example.com", requester_name="Sam",
                         language=code, channel=Ticket.Channel.EMAIL, body="…")
    ack = email_out.queue_acknowledgement(ticket.pk)
    assert email_out.deliver(email_id=ack.pk).sent
    reply = email_out.queue_reply(message=post_reply(ticket=ticket, author=agent, body="1 2 3"))
    assert email_out.deliver(email_id=reply.pk).sent

    acknowledgement, answer = smtp_server.messages
    for sent in (acknowledgement, answer):
        assert sent["Content-Language"] == code
        assert f'dir="{"rtl" if code in RTL else "ltr"}"' in html_of(sent)
        assert translated(code, "Please type your reply above this line") in text_of(sent)
        assert translated(code, "Hello %(name)s,") % {"name": "Sam"} in text_of(sent)
        assert translated(code, "Reply to this email to add to your request.") in text_of(sent)
    intro = ("Thank you for writing to us. We have received your request, and an agent will reply as soon as "
             "possible.")
    assert translated(code, intro) in text_of(acknowledgement)
    assert translated(code, "We received your request: %(subject)s") % {"subject": "Question"} in (
        acknowledgement["Subject"])
    if code != "en":
        assert "Please type your reply" not in text_of(answer) and intro not in text_of(acknowledgement)


def test_a_language_we_do_not_ship_gets_english(smtp_server, agent):
    ticket = open_ticket(subject="Agizo langu", requester_email="amani@example.tz", requester_name="Amani",
                         language="sw", channel=Ticket.Channel.EMAIL, body="Agizo langu halijafika bado.")
    email = email_out.queue_reply(message=post_reply(ticket=ticket, author=agent, body="OK"))
    email_out.deliver(email_id=email.pk)
    [sent] = smtp_server.messages
    assert sent["Content-Language"] == "en"
    assert "Hello Amani," in text_of(sent) and "Please type your reply above this line" in text_of(sent)
