"""Writes: what agents do with suggestions (mark helpful / not helpful, insert into a reply).

Each action updates the Suggestion row and records an Event, so the metrics can be recomputed
from the event table alone.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from helpdesk.models import Event, Suggestion


def mark_suggestion(*, suggestion: Suggestion, helpful: bool, user=None, at: datetime | None = None) -> Suggestion:
    """Record an agent's verdict on one suggestion (a second mark replaces the first)."""
    with transaction.atomic():
        suggestion.feedback = Suggestion.Feedback.HELPFUL if helpful else Suggestion.Feedback.NOT_HELPFUL
        suggestion.feedback_by = user
        suggestion.save(update_fields=["feedback", "feedback_by"])
        Event.objects.create(
            kind=Event.Kind.SUGGESTION_FEEDBACK, ticket_id=suggestion.ticket_id,
            widget_session_id=suggestion.widget_session_id, article_id=suggestion.article_id,
            suggestion=suggestion, language=_language(suggestion),
            data={"helpful": helpful, "rank": suggestion.rank, "user": getattr(user, "pk", None)},
            created_at=at or timezone.now(),
        )
    return suggestion


def insert_suggestion(*, suggestion: Suggestion, user=None, link: str | None = None, at: datetime | None = None) -> str:
    """Mark a suggestion as inserted into a reply and return the text to insert (title, link, summary).

    `link` is the article's public address as the customer should see it (absolute); by default the
    public page under HELPDESK["SITE_URL"].
    """
    article = suggestion.article
    with transaction.atomic():
        suggestion.inserted = True
        suggestion.save(update_fields=["inserted"])
        Event.objects.create(
            kind=Event.Kind.SUGGESTION_INSERTED, ticket_id=suggestion.ticket_id,
            widget_session_id=suggestion.widget_session_id, article_id=article.pk,
            suggestion=suggestion, language=_language(suggestion),
            data={"rank": suggestion.rank, "user": getattr(user, "pk", None)},
            created_at=at or timezone.now(),
        )
    return reply_snippet(article, link=link)


def reply_snippet(article, *, link: str | None = None) -> str:
    """The text an agent inserts: the article's title, its opening in whole sentences, and the
    public link to the rest (never the agents' KB page, which a customer cannot open)."""
    from helpdesk.public_urls import public_article_url
    from helpdesk.summaries import summary

    link = link or public_article_url(article.pk)
    return "\n\n".join(part for part in (article.title, summary(article.body), link) if part)


def _language(suggestion: Suggestion) -> str:
    if suggestion.query_language:
        return suggestion.query_language
    ticket = suggestion.ticket
    return ticket.language if ticket is not None else ""


def show_ticket_suggestions(*, ticket, since=None) -> list[Suggestion]:
    """Return the suggestions an agent sees on `ticket`, computing and recording them when needed.

    Suggestions recorded at or after `since` (the latest customer message) are reused, so polling
    the panel records nothing new until the customer writes again.
    """
    existing = Suggestion.objects.filter(ticket=ticket).select_related("article")
    if since is not None:
        existing = existing.filter(created_at__gte=since)
    rows = _latest_batch(existing)
    if rows:
        return rows
    from helpdesk.selectors.suggestions import find_ticket_suggestions
    from helpdesk.services.suggestions import record_suggestions

    result = find_ticket_suggestions(ticket=ticket)
    if not result.query:
        return []
    rows = record_suggestions(suggestions=result.suggestions, query=result.query,
                              query_language=result.language or ticket.language, ticket=ticket)
    return list(Suggestion.objects.filter(pk__in=[r.pk for r in rows]).select_related("article").order_by("rank"))


def _latest_batch(qs) -> list[Suggestion]:
    """The most recent showing only: its rows were written together, rank 1 first (ids ascending).

    Merging showings (e.g. one from full-text search alone while the knowledge base was still being
    embedded, and the one asked again after) would show the agent two lists interleaved by rank."""
    first = qs.filter(rank=1).order_by("-id").values_list("id", flat=True).first()
    if first is None:
        return []
    seen, rows = set(), []
    for row in qs.filter(id__gte=first).order_by("rank", "id")[:50]:
        if row.article_id not in seen:
            seen.add(row.article_id)
            rows.append(row)
    return rows
