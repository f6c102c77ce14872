"""The demo history fills every chart of the metrics page, through the product's services."""

from datetime import timedelta

import pytest
from django.db.models import Max, Min

from helpdesk.demo.history import generate_history
from helpdesk.models import Event, Ticket
from helpdesk.selectors import metrics
from tests.dashboard_support import hashing_encoder  # noqa: F401
from tests.widget_support import load_kb

pytestmark = pytest.mark.django_db


def test_history_spreads_over_the_weeks_and_feeds_every_metric(hashing_encoder):
    load_kb(keys=("reset-password", "track-order", "refund-timing", "return-item"), locales=("en", "es", "ar"))
    counts = generate_history(weeks=3, seed=3)

    assert counts["sessions"] == counts["queries"] > 60
    assert counts["tickets"] == Ticket.objects.filter(channel=Ticket.Channel.WIDGET).count() > 0
    span = Event.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    assert span["last"] - span["first"] > timedelta(days=14)

    p = metrics.period(days=30)
    widget = metrics.widget_figures(p)
    assert widget[""].sessions_with_query == counts["queries"]
    assert widget[""].opened_article == counts["articles_opened"] > 0
    assert {"en", "es", "ar"} <= set(widget)
    # Customers also write in languages the knowledge base has no article in.
    assert set(widget) & {"it", "nl", "pl", "tr", "zh"}
    assert metrics.agent_acceptance(p).denominator > 0
    assert metrics.suggestion_precision(p).tickets > 0
    assert metrics.content_gaps(p)
    assert len(metrics.tickets_by_language(p)["labels"]) >= 3
    assert Event.objects.filter(kind=Event.Kind.TICKET_RESOLVED).count() == counts["solved"]

    # Requesters are named as people who write in their language (no "Yuki" asking in Spanish).
    from helpdesk.demo.history import NAMES

    for ticket in Ticket.objects.filter(channel=Ticket.Channel.WIDGET).select_related("widget_session"):
        assert ticket.requester_name in [name for name, _ in NAMES[ticket.widget_session.language]]
