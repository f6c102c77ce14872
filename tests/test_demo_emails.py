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
