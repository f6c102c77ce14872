"""The desk's own notes on a ticket read in each agent's language ("Asked in the widget:" was English
in the Arabic dashboard)."""

import pytest
from django.conf import settings

from helpdesk import system_notes
from helpdesk.models import Message, Ticket
from helpdesk.services.tickets import open_ticket, post_message
from tests.dashboard_support import agent, agent_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def widget_ticket():
    ticket = open_ticket(subject="أين طلبي؟", requester_email="omar@example.ae", language="ar", body="أين طلبي؟",
                         channel=Ticket.Channel.WIDGET)
    body = "\n".join([system_notes.note(system_notes.ASKED, question="أين طلبي؟"),
                      system_notes.note(system_notes.OPENED, articles="تتبع طلبك [ar]")])
    post_message(ticket=ticket, author_kind=Message.Author.SYSTEM, body=body, visibility=Message.Visibility.INTERNAL)
    return ticket


@pytest.mark.parametrize("language, asked, opened", [
    ("ar", "السؤال في الأداة: أين طلبي؟", "المقالات التي فُتحت: تتبع طلبك [ar]"),
    ("ja", "ウィジェットでの質問: أين طلبي؟", "開いた記事: تتبع طلبك [ar]"),
    ("en", "Asked in the widget: أين طلبي؟", "Articles opened: تتبع طلبك [ar]"),
])
def test_widget_journey_note_is_shown_in_the_dashboards_language(agent_client, widget_ticket, language, asked, opened):
    agent_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    html = agent_client.get(f"/desk/tickets/{widget_ticket.pk}/").content.decode()
    assert f"{asked}<br>{opened}" in html
    # Stored once, in English: what exports, search and migrations read does not depend on who looked.
    assert Message.objects.get(ticket=widget_ticket, author_kind="system").body.startswith("Asked in the widget: ")


def test_a_line_that_is_no_known_sentence_is_shown_as_stored():
    assert system_notes.translated("Something else\nFiled from the widget.") == "Something else\nFiled from the widget."
