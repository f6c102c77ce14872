"""Every language the dashboard or the widget ships gets its emails' own words (greeting, "reply above this
line", acknowledgement, article links, footer, subject) in that language, through a real SMTP server:
adding a language without translating the email strings fails here."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils.html import strip_tags

from helpdesk import catalogs
from helpdesk.models import Article, OutboundEmail
from helpdesk.services import email_out
from helpdesk.services.tickets import open_ticket, post_message
from tests.dashboard_support import agent  # noqa: F401  (fixture)
from tests.mail_support import html_of, smtp_server, text_of  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db
# The English words around the agent's text and the articles; none may be left in another language's email.
ENGLISH = ["Please type your reply above this line", "Hello", "Your request #", "Reply to this email",
           "Thank you for writing", "We received your request", "While you wait", "This answered my question",
           "If one of them answers"]


def shipped_languages() -> list[str]:
    widget = set(catalogs.widget_catalog()["languages"])  # the widget's languages, from its .po files
    return sorted({code for code, _ in settings.LANGUAGES} | widget)


def test_the_languages_are_found():
    assert {"en", "es", "ar"} <= set(shipped_languages())


@pytest.fixture(autouse=True)
def desk(settings):
    settings.HELPDESK = {**getattr(settings, "HELPDESK", {}), "FROM_EMAIL": "Northwind <help@northwind.test>",
                         "SITE_URL": "https://desk.northwind.test", "ENCODER": "hashing"}


@pytest.mark.parametrize("language", [code for code in shipped_languages() if code != "en"])
def test_reply_and_acknowledgement_speak_the_customers_language(smtp_server, agent, language):
    ticket = open_ticket(subject="Pedido 4471", requester_email="cliente@example.com", requester_name="Kim",
                         language=language, body="Mi pedido no ha llegado.")
    reply = email_out.queue_reply(message=post_message(ticket=ticket, author_kind="agent", author=agent, body="OK 4471"))
    assert email_out.deliver(email_id=reply.pk).sent
    ack = email_out.queue_acknowledgement(ticket.pk)
    article = Article.objects.create(title="Track an order 4471", body="Use the tracking link.", locale=language)
    OutboundEmail.objects.filter(pk=ack.pk).update(articles=[article.pk])  # an article to link, whatever the engine says
    assert email_out.deliver(email_id=ack.pk).sent

    for sent in smtp_server.messages:
        assert sent["Content-Language"] == language
        words = "\n".join([str(sent["Subject"]), text_of(sent), strip_tags(html_of(sent))])
        left = [english for english in ENGLISH if english in words]
        assert not left, f"{language}: English left in the email: {left}"
    assert "Track an order 4471" in text_of(smtp_server.messages[1])  # the acknowledgement did link the article
