"""The demo's tickets that arrived by email go through the inbound service like real mail."""

import pytest

from helpdesk.demo.emails import EMAILS, load_demo_emails
from helpdesk.models import InboundEmail, OutboundEmail, Ticket

pytestmark = pytest.mark.django_db


def test_demo_emails_become_acknowledged_tickets_once_in_their_languages(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        assert load_demo_emails() == len(list(EMAILS.glob("*.eml"))) == 4

    rows = InboundEmail.objects.order_by("source_ref")
    assert [r.state for r in rows] == ["processed"] * 4
    assert sorted(Ticket.objects.filter(channel="email").values_list("language", flat=True)) == ["de", "es", "fr", "ja"]
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.ACKNOWLEDGEMENT).count() == 4
    assert load_demo_emails() == 0 and Ticket.objects.count() == 4


def test_make_runs_first_demo_load_leaves_the_email_tickets_for_after_embedding(settings):
    """`make run` loads the demo with --no-email and ingests the emails once the knowledge base has its
    vectors: an acknowledgement is sent once, and must be able to suggest articles."""
    from django.core.management import call_command

    settings.HELPDESK = {**settings.HELPDESK, "ENCODER": "hashing:64"}
    call_command("load_demo", no_history=True, no_email=True, stdout=open("/dev/null", "w"))

    assert not InboundEmail.objects.exists() and not OutboundEmail.objects.exists()
    before = Ticket.objects.count()
    assert before > 0  # the other demo tickets are there
    assert load_demo_emails() == 4 and Ticket.objects.count() == before + 4
