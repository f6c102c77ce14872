"""Writes: what the suggestion engine showed, so feedback and metrics can refer to it."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from helpdesk.models import Event, Suggestion


def record_suggestions(
    *,
    suggestions,
    query: str,
    query_language: str = "",
    ticket=None,
    widget_session=None,
    at: datetime | None = None,
    threshold: float | None = None,
    no_answer_reason: str = "",
    best_confidence: float | None = None,
) -> list[Suggestion]:
    """Write one Suggestion row per suggestion shown (rank from 1) and one Event for the showing.

    The Event is `suggestions_shown`, or `no_answer` when the list is empty or every suggestion is
    below `threshold` (default: the effective confidence threshold); a no-answer query is what the
    content-gap report counts (it reads `data["text"]`). `best_confidence` is the engine's best
    candidate even when none was shown (default: the best of `suggestions`); the threshold preview
    uses it. Returns the Suggestion rows, best first.
    """
    from helpdesk.selectors.suggestions import confidence_threshold

    if ticket is None and widget_session is None:
        raise ValueError("record_suggestions needs a ticket or a widget session")
    threshold = confidence_threshold() if threshold is None else threshold
    at = at or timezone.now()
    suggestions = list(suggestions)
    with transaction.atomic():
        rows = Suggestion.objects.bulk_create([
            Suggestion(
                ticket=ticket,
                widget_session=widget_session,
                article_id=s.article_id,
                query=query,
                query_language=query_language or "",
                rank=rank,
                score=float(s.score),
                confidence=float(s.confidence),
                retrievers=list(s.retrievers),
                evidence=dict(getattr(s, "evidence", None) or {}),
            )
            for rank, s in enumerate(suggestions, start=1)
        ])
        if at is not None and rows:
            Suggestion.objects.filter(id__in=[r.id for r in rows]).update(created_at=at)
        answered = any(s.confidence >= threshold for s in suggestions)
        Event.objects.create(
            kind=Event.Kind.SUGGESTIONS_SHOWN if answered else Event.Kind.NO_ANSWER,
            ticket=ticket,
            widget_session=widget_session,
            article_id=suggestions[0].article_id if suggestions else None,
            suggestion=rows[0] if rows else None,
            language=query_language or "",
            data={
                "text": query,
                "suggestion_ids": [r.id for r in rows],
                "article_ids": [s.article_id for s in suggestions],
                "best_confidence": round(best_confidence if best_confidence is not None
                                         else max((s.confidence for s in suggestions), default=0.0), 4),
                "threshold": threshold,
                **({"reason": no_answer_reason} if no_answer_reason and not answered else {}),
            },
            created_at=at,
        )
    return rows
