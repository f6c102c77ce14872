"""Writes: an agent changes a ticket's status, priority or assignee."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from helpdesk.models import Event, Ticket

_UNCHANGED = object()


def update_ticket(*, ticket: Ticket, status: str | None = None, priority: int | None = None,
                  assignee=_UNCHANGED, at: datetime | None = None) -> Ticket:
    """Apply the changes given; solving an open ticket stamps `solved_at` and records `ticket_resolved`."""
    at = at or timezone.now()
    was_open = ticket.is_open
    with transaction.atomic():
        if status is not None:
            ticket.status = status
        if priority is not None:
            ticket.priority = priority
        if assignee is not _UNCHANGED:
            ticket.assignee = assignee
        if was_open and ticket.status == Ticket.Status.SOLVED:
            ticket.solved_at = at
            Event.objects.create(kind=Event.Kind.TICKET_RESOLVED, ticket=ticket, language=ticket.language,
                                 widget_session_id=ticket.widget_session_id, created_at=at)
        ticket.full_clean()
        ticket.save()
    return ticket
