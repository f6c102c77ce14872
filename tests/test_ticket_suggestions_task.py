"""A customer's message leads, through the worker, to suggestions the queue can show at a glance."""

import pytest
from django.contrib.auth.models import User

from helpdesk.encoders import encoder_name
from helpdesk.models import Article, Chunk, Suggestion
from helpdesk.selectors.queue import QueueFilters, agent_queue
from helpdesk.services.knowledge import save_article
from helpdesk.services.tickets import open_ticket, post_message
from tests.conftest import wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_new_ticket_gets_suggestions_in_the_background_and_the_queue_shows_it(celery_worker):
    article = save_article(title="Reset a forgotten password",
                           body="Choose 'Forgot password' on the sign-in page; we email you a link valid for "
                                "30 minutes. Follow it and pick a new password.",
                           locale="en", status=Article.Status.PUBLISHED)
    wait_until(lambda: Chunk.objects.filter(article=article, encoder=encoder_name()).exists(), timeout=120,
               message=f"embedding\n{celery_worker.tail()}")

    ticket = open_ticket(subject="can't log in", requester_email="kim@example.com",
                         body="I forgot my password and the sign-in page won't let me in. How do I reset it?")

    wait_until(lambda: Suggestion.objects.filter(ticket=ticket).exists(), timeout=120,
               message=f"suggestions\n{celery_worker.tail()}")
    top = Suggestion.objects.filter(ticket=ticket).order_by("rank").first()
    assert top.article_id == article.id
    row = next(t for t in agent_queue(filters=QueueFilters(), user=User(username="x")).object_list if t.pk == ticket.pk)
    assert row.has_good_suggestion is True

    # A new customer message (after an agent reply) brings a new batch for the whole conversation.
    batches = Suggestion.objects.filter(ticket=ticket).values("created_at").distinct().count()
    post_message(ticket=ticket, author_kind="agent", body="Did the reset email arrive?")
    post_message(ticket=ticket, author_kind="customer", body="No email came, not even in spam.")
    wait_until(lambda: Suggestion.objects.filter(ticket=ticket).values("created_at").distinct().count() > batches,
               timeout=120, message=f"a second batch\n{celery_worker.tail()}")
