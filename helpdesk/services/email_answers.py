"""Writes: a customer closes their ticket from an acknowledgement's "this answered my question" link.

That is the email deflection of DESIGN.md: the ticket is solved by self-service, an Event records
which article answered it, and an internal note tells agents why the ticket closed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from helpdesk import system_notes
from helpdesk.answer_links import AnswerLink
from helpdesk.models import Article, Event, Message, OutboundEmail, Ticket


@dataclass
class AnswerOutcome:
    ticket: Ticket
    article: Article
    outcome: str  # "solved" (this call), "already" (recorded before), "closed" (was solved or closed already)


class UnknownLink(Exception):
    """The link names a ticket, article or acknowledgement that does not exist (any more)."""


def answer_context(link: AnswerLink) -> tuple[Ticket, Article]:
    """Return the ticket and article a verified link names; raise UnknownLink otherwise."""
    email = OutboundEmail.objects.filter(pk=link.email_id, ticket_id=link.ticket_id,
                                         kind=OutboundEmail.Kind.ACKNOWLEDGEMENT).first()
    if email is None or link.article_id not in (email.articles or []):
        raise UnknownLink("no acknowledgement suggested that article for that ticket")
    ticket = Ticket.objects.filter(pk=link.ticket_id).first()
    article = Article.objects.filter(pk=link.article_id).first()
    if ticket is None or article is None:
        raise UnknownLink("the ticket or the article is gone")
    return ticket, article


def is_deflected(ticket: Ticket) -> bool:
    return Event.objects.filter(kind=Event.Kind.EMAIL_DEFLECTED, ticket=ticket).exists()


def record_email_deflection(*, link: AnswerLink) -> AnswerOutcome:
    """Solve the ticket a verified link names and record the deflection, once; a ticket that is
    already solved or closed is left as it is (the link cannot reopen or re-count anything)."""
    from helpdesk.services.tickets import post_message, update_ticket

    ticket, article = answer_context(link)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if is_deflected(ticket):
            return AnswerOutcome(ticket, article, "already")
        if not ticket.is_open:
            return AnswerOutcome(ticket, article, "closed")
        now = timezone.now()
        post_message(ticket=ticket, author_kind=Message.Author.SYSTEM, visibility=Message.Visibility.INTERNAL,
                     body=system_notes.note(system_notes.SOLVED_BY_EMAIL_LINK, title=article.title,
                                            locale=article.locale))
        update_ticket(ticket=ticket, status=Ticket.Status.SOLVED, at=now)
        Event.objects.create(kind=Event.Kind.EMAIL_DEFLECTED, ticket=ticket, article=article,
                             widget_session_id=ticket.widget_session_id, language=ticket.language,
                             data={"email": link.email_id}, created_at=now)
    return AnswerOutcome(ticket, article, "solved")
