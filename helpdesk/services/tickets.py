"""Writes to tickets and their conversations."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from embeddings.language import detect_language
from helpdesk import conf
from helpdesk.models import Event, Message, Ticket

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 100_000


def _clean_body(body: str) -> str:
    # NUL and lone surrogates (JSON's "\\ud800") cannot be stored in PostgreSQL text.
    body = (body or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    if not body:
        raise ValueError("a message needs some text")
    if len(body) > MAX_MESSAGE_CHARS:
        raise ValueError(f"a message may hold at most {MAX_MESSAGE_CHARS:,} characters (this one has {len(body):,})")
    return body


def open_ticket(
    *,
    subject: str,
    requester_email: str,
    body: str,
    requester_name: str = "",
    channel: str = Ticket.Channel.WEB,
    priority: int = Ticket.Priority.NORMAL,
    widget_session=None,
    language: str | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket with the customer's first message; detect its language unless given."""
    body = _clean_body(body)
    subject = " ".join((subject or "").split())[:255] or body.splitlines()[0][:120]
    fallback = getattr(widget_session, "language", "") or conf.get("DEFAULT_LOCALE")
    detection = detect_language(f"{subject}\n{body}", fallback=fallback)
    with transaction.atomic():
        ticket = Ticket(
            subject=subject,
            requester_email=requester_email,
            requester_name=requester_name,
            channel=channel,
            priority=priority,
            widget_session=widget_session,
            language=language or detection.language or "",
            language_confidence=1.0 if language else detection.confidence,
        )
        ticket.full_clean()
        ticket.save()
        _add_message(ticket=ticket, author_kind=Message.Author.CUSTOMER, body=body, detection=detection, at=at)
        Event.objects.create(kind=Event.Kind.TICKET_FILED, ticket=ticket, widget_session=widget_session,
                             language=ticket.language, created_at=at or timezone.now())
        if at is not None:
            Ticket.objects.filter(pk=ticket.pk).update(created_at=at, updated_at=at)
            ticket.refresh_from_db()
        if at is None:  # history being replayed (demo, imports) needs no live suggestions
            _suggest_after_commit(ticket.pk)
    return ticket


def post_message(*, ticket: Ticket, author_kind: str, body: str, author=None, at: datetime | None = None,
                 visibility: str = Message.Visibility.PUBLIC) -> Message:
    """Add a message to a ticket's conversation (customer or agent; public, or an internal note).

    A customer's message is always public. Only a public agent reply moves a new ticket to open.
    """
    body = _clean_body(body)
    if visibility not in Message.Visibility.values:
        raise ValueError(f"unknown visibility {visibility!r}")
    if author_kind == Message.Author.CUSTOMER:
        visibility = Message.Visibility.PUBLIC
    detection = detect_language(body, fallback=ticket.language or conf.get("DEFAULT_LOCALE"))
    with transaction.atomic():
        message = _add_message(ticket=ticket, author_kind=author_kind, body=body, detection=detection,
                               author=author, at=at, visibility=visibility)
        fields = ["updated_at"]
        if (author_kind == Message.Author.AGENT and visibility == Message.Visibility.PUBLIC
                and ticket.status == Ticket.Status.NEW):
            ticket.status = Ticket.Status.OPEN
            fields.append("status")
        elif author_kind == Message.Author.CUSTOMER and ticket.status in (Ticket.Status.PENDING, Ticket.Status.SOLVED):
            ticket.status = Ticket.Status.OPEN
            fields.append("status")
        ticket.save(update_fields=fields)
        if author_kind == Message.Author.CUSTOMER and at is None:
            _suggest_after_commit(ticket.pk)
    return message


def _suggest_after_commit(ticket_id: int) -> None:
    """Queue the ticket's suggestions once the message is committed; a broker outage only delays them
    (the agent's ticket page computes them on demand)."""
    from kombu.exceptions import OperationalError as BrokerError

    from helpdesk import tasks

    def send():
        try:
            tasks.suggest_for_ticket.delay(ticket_id)
        except BrokerError as exc:
            logger.warning("broker unreachable, suggestions for ticket %s computed on demand: %s", ticket_id, exc)

    transaction.on_commit(send)


def post_reply(*, ticket: Ticket, body: str, author, internal: bool = False) -> Message:
    """An agent's public reply, emailed to the requester after commit, or an internal note, which
    never leaves the desk (not emailed, not shown to the customer, not searched as their words)."""
    from helpdesk.services import email_out

    visibility = Message.Visibility.INTERNAL if internal else Message.Visibility.PUBLIC
    with transaction.atomic():
        message = post_message(ticket=ticket, author_kind=Message.Author.AGENT, body=body, author=author,
                               visibility=visibility)
        if not internal:
            email_out.queue_reply(message=message)
    return message


def _add_message(*, ticket, author_kind, body, detection, author=None, at=None,
                 visibility=Message.Visibility.PUBLIC) -> Message:
    message = Message.objects.create(
        ticket=ticket,
        author_kind=author_kind,
        author=author,
        body=body,
        visibility=visibility,
        language=detection.language or "",
        language_confidence=detection.confidence,
    )
    if at is not None:
        Message.objects.filter(pk=message.pk).update(created_at=at)
        message.created_at = at
    return message


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
