"""The agents' queue and ticket page: filters, search, sort, pagination, replies and updates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import Article, Event, Message, Suggestion, Ticket
from helpdesk.selectors.queue import QueueFilters, agent_queue
from helpdesk.services.desk_settings import set_confidence_threshold
from helpdesk.services.knowledge import save_article
from helpdesk.services.tickets import open_ticket
from tests.dashboard_support import agent, agent_client  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(agent):
    now = timezone.now()
    made = {
        "es": open_ticket(subject="No puedo entrar", requester_email="ana@example.es", language="es",
                          body="Olvidé mi contraseña y no puedo entrar.", priority=Ticket.Priority.HIGH,
                          at=now - timedelta(days=3)),
        "ar": open_ticket(subject="أين طلبي", requester_email="omar@example.ae", language="ar",
                          body="لم يصل طلبي بعد.", at=now - timedelta(days=1)),
        "en": open_ticket(subject="Refund please", requester_email="bob@example.com", language="en",
                          body="I want my money back.", priority=Ticket.Priority.LOW, at=now - timedelta(hours=2)),
        "solved": open_ticket(subject="Solved already", requester_email="sam@example.com", language="en",
                              body="Thanks, all good.", at=now - timedelta(days=5)),
    }
    Ticket.objects.filter(pk=made["solved"].pk).update(status=Ticket.Status.SOLVED)
    Ticket.objects.filter(pk=made["ar"].pk).update(assignee=agent)
    return made


def ids(page):
    return [t.pk for t in page.object_list]


def test_queue_puts_new_unassigned_tickets_first_newest_first_then_the_rest_by_priority(tickets, agent):
    page = agent_queue(filters=QueueFilters(), user=agent)
    # en (2 h old, low) and es (3 days, high) are new and nobody's yet; ar is assigned.
    assert ids(page) == [tickets["en"].pk, tickets["es"].pk, tickets["ar"].pk]


def test_queue_sorts_by_priority_then_age(tickets, agent):
    page = agent_queue(filters=QueueFilters(sort="-priority"), user=agent)
    assert ids(page) == [tickets["es"].pk, tickets["ar"].pk, tickets["en"].pk]


def test_a_ticket_just_filed_is_on_the_first_page_however_many_older_urgent_ones_wait(agent_client, agent):
    now = timezone.now()
    for i in range(30):
        open_ticket(subject=f"Older {i}", requester_email=f"c{i}@example.com", body="Where is my parcel?",
                    priority=Ticket.Priority.URGENT, at=now - timedelta(days=2, minutes=i))
    newest = open_ticket(subject="Just now", requester_email="new@example.com", body="Hello?",
                         channel=Ticket.Channel.WIDGET)
    html = agent_client.get("/desk/").content.decode()
    assert "Just now" in html and html.index("Just now") < html.index("Older 0")
    assert agent_queue(filters=QueueFilters(), user=agent).object_list[0].pk == newest.pk


def test_the_ticket_assignee_select_says_unassigned_not_dashes(agent_client, tickets):
    html = agent_client.get(f"/desk/tickets/{tickets['es'].pk}/").content.decode()
    assert '<option value="" selected>Unassigned</option>' in html and "---------" not in html


def test_queue_sorts_by_age_both_ways(tickets, agent):
    assert ids(agent_queue(filters=QueueFilters(sort="age"), user=agent)) == [
        tickets["es"].pk, tickets["ar"].pk, tickets["en"].pk]
    assert ids(agent_queue(filters=QueueFilters(sort="-age"), user=agent)) == [
        tickets["en"].pk, tickets["ar"].pk, tickets["es"].pk]


def test_queue_filters_by_status_language_assignee_and_search(tickets, agent):
    assert ids(agent_queue(filters=QueueFilters(status="solved"), user=agent)) == [tickets["solved"].pk]
    assert ids(agent_queue(filters=QueueFilters(language="ar"), user=agent)) == [tickets["ar"].pk]
    assert ids(agent_queue(filters=QueueFilters(assignee="me"), user=agent)) == [tickets["ar"].pk]
    assert set(ids(agent_queue(filters=QueueFilters(assignee="none"), user=agent))) == {tickets["es"].pk, tickets["en"].pk}
    assert ids(agent_queue(filters=QueueFilters(q="money"), user=agent)) == []
    assert ids(agent_queue(filters=QueueFilters(q="refund"), user=agent)) == [tickets["en"].pk]
    assert ids(agent_queue(filters=QueueFilters(q="example.es"), user=agent)) == [tickets["es"].pk]
    assert ids(agent_queue(filters=QueueFilters(q=f"#{tickets['ar'].pk}"), user=agent)) == [tickets["ar"].pk]


def test_queue_paginates(tickets, agent):
    page = agent_queue(filters=QueueFilters(status="all"), user=agent, page=2, per_page=3)
    assert page.number == 2 and page.paginator.count == 4 and len(page.object_list) == 1
    assert agent_queue(filters=QueueFilters(), user=agent, page="999", per_page=2).number == 2  # clamps to the last page


def test_queue_flags_tickets_with_a_confident_unrejected_suggestion(tickets, agent):
    set_confidence_threshold(value=0.5)
    article = save_article(title="Reset", body="Reset it.", locale="es", status=Article.Status.PUBLISHED)
    Suggestion.objects.create(ticket=tickets["es"], article=article, rank=1, score=0.8, confidence=0.7)
    Suggestion.objects.create(ticket=tickets["ar"], article=article, rank=1, score=0.3, confidence=0.2)
    Suggestion.objects.create(ticket=tickets["en"], article=article, rank=1, score=0.9, confidence=0.9,
                              feedback=Suggestion.Feedback.NOT_HELPFUL)
    flags = {t.pk: t.has_good_suggestion for t in agent_queue(filters=QueueFilters(), user=agent).object_list}
    assert flags == {tickets["es"].pk: True, tickets["ar"].pk: False, tickets["en"].pk: False}


def test_queue_page_lists_language_name_and_code(agent_client, tickets):
    html = agent_client.get("/desk/?language=es").content.decode()
    assert "No puedo entrar" in html and "Spanish" in html and "<code>es</code>" in html
    assert "Refund please" not in html


def test_queue_page_ignores_bad_filter_values(agent_client, tickets):
    response = agent_client.get("/desk/?status=nonsense&sort=drop+table&page=abc")
    assert response.status_code == 200


def test_ticket_page_shows_conversation_with_detected_languages(agent_client, tickets):
    html = agent_client.get(f"/desk/tickets/{tickets['es'].pk}/").content.decode()
    assert "Olvidé mi contraseña" in html
    assert "<code>es</code>" in html
    assert 'hx-get="/desk/tickets/%d/suggestions/"' % tickets["es"].pk in html


def test_agent_reply_becomes_an_agent_message_and_opens_a_new_ticket(agent_client, agent, tickets):
    ticket = tickets["es"]
    response = agent_client.post(f"/desk/tickets/{ticket.pk}/reply/", {"body": "Hola Ana, prueba este enlace."})
    assert response.status_code == 302
    message = ticket.messages.order_by("-id").first()
    assert (message.author_kind, message.author, message.body) == (Message.Author.AGENT, agent, "Hola Ana, prueba este enlace.")
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN


def test_empty_reply_is_refused_and_nothing_is_added(agent_client, tickets):
    ticket = tickets["es"]
    response = agent_client.post(f"/desk/tickets/{ticket.pk}/reply/", {"body": "   "})
    assert response.status_code == 400
    assert ticket.messages.count() == 1


def test_solving_a_ticket_records_the_resolution(agent_client, agent, tickets):
    ticket = tickets["en"]
    response = agent_client.post(f"/desk/tickets/{ticket.pk}/update/",
                                 {"status": "solved", "priority": "3", "assignee": str(agent.pk)})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority, ticket.assignee) == ("solved", 3, agent)
    assert ticket.solved_at is not None
    assert Event.objects.filter(kind=Event.Kind.TICKET_RESOLVED, ticket=ticket).count() == 1


def test_invalid_update_is_refused_and_changes_nothing(agent_client, tickets):
    ticket = tickets["en"]
    response = agent_client.post(f"/desk/tickets/{ticket.pk}/update/", {"status": "exploded", "priority": "9"})
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert (ticket.status, ticket.priority) == ("new", Ticket.Priority.LOW)


def test_unknown_ticket_is_404(agent_client, tickets):
    assert agent_client.get("/desk/tickets/999999/").status_code == 404
