"""Writes for the customer widget: sites and their keys, and each step of a visitor's session.

Every step writes an `Event`, so the funnel and both deflection rates of DESIGN.md can be recomputed
from the event table alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from embeddings.language import detect_language
from helpdesk import conf, system_notes
from helpdesk.models import Article, Event, Message, Suggestion, Ticket, WidgetSession, WidgetSite
from helpdesk.models.widget import new_site_key
from helpdesk.services.tickets import open_ticket, post_message


# --- sites and keys ---------------------------------------------------------------------------

def clean_origins(text: str) -> str:
    """Return the origins in `text` normalised one per line; raise ValidationError on anything else.

    An origin is scheme://host[:port], nothing more: no path, no wildcard, http(s) only.
    """
    origins: list[str] = []
    for line in (text or "").replace(",", "\n").splitlines():
        raw = line.strip().rstrip("/")
        if not raw:
            continue
        parts = urlsplit(raw)
        if "*" in raw or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(f"{raw!r} is not an origin like https://shop.example.com")
        if parts.path or parts.query or parts.fragment or parts.username or parts.password:
            raise ValidationError(f"{raw!r} must be scheme://host[:port] with nothing after it")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValidationError(f"{raw!r} has an invalid port") from exc
        origin = f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")
        if origin not in origins:
            origins.append(origin)
    return "\n".join(origins)


def save_site(
    *,
    name: str,
    allowed_origins: str,
    default_locale: str = "en",
    requests_per_minute: int | None = None,
    client_requests_per_minute: int | None = None,
    site: WidgetSite | None = None,
) -> WidgetSite:
    """Create or update a widget site (a new site gets a fresh public key)."""
    site = site or WidgetSite()
    site.name = (name or "").strip()
    site.allowed_origins = clean_origins(allowed_origins)
    site.default_locale = (default_locale or "en").strip()
    if requests_per_minute is not None:
        site.requests_per_minute = requests_per_minute
    if client_requests_per_minute is not None:
        site.client_requests_per_minute = client_requests_per_minute
    site.full_clean()
    site.save()
    return site


def rotate_key(*, site: WidgetSite, grace: timedelta = timedelta(0)) -> WidgetSite:
    """Give the site a new key. The old one keeps working for `grace` (pages being updated to the new
    embed code keep their widget meanwhile), or stops at once with no grace; a revoked site is live
    again with the new key only (its revoked key never comes back)."""
    now = timezone.now()
    keep_old = grace > timedelta(0) and not site.is_revoked
    site.previous_key = site.key if keep_old else ""
    site.previous_key_expires_at = now + grace if keep_old else None
    site.key = new_site_key()
    site.key_rotated_at = now
    site.revoked_at = None
    site.is_active = True
    site.save(update_fields=["key", "key_rotated_at", "previous_key", "previous_key_expires_at", "revoked_at",
                             "is_active"])
    return site


def revoke_key(*, site: WidgetSite) -> WidgetSite:
    """Stop accepting the site's key, and any previous key still in its grace period; rotating later
    issues a new one."""
    site.revoked_at = site.revoked_at or timezone.now()
    site.is_active = False
    site.previous_key, site.previous_key_expires_at = "", None
    site.save(update_fields=["revoked_at", "is_active", "previous_key", "previous_key_expires_at"])
    return site


# --- sessions ---------------------------------------------------------------------------------

@dataclass
class QueryOutcome:
    """What a query showed the visitor: suggestions above the threshold, or no good answer."""

    text: str
    language: str
    threshold: float
    suggestions: list = field(default_factory=list)  # ArticleSuggestion items actually shown
    suggestion_ids: list[int] = field(default_factory=list)  # their Suggestion rows, same order
    best_confidence: float = 0.0

    @property
    def no_answer(self) -> bool:
        return not self.suggestions


def start_session(*, site: WidgetSite, visitor_id: str = "", language: str = "", at: datetime | None = None
                  ) -> WidgetSession:
    """Open a widget session for one visitor of `site`."""
    session = WidgetSession.objects.create(site=site, visitor_id=(visitor_id or "")[:64],
                                           language=(language or "")[:35])
    if at is not None:
        WidgetSession.objects.filter(pk=session.pk).update(created_at=at, last_seen_at=at)
        session.created_at = session.last_seen_at = at
    return session


def confidence_threshold() -> float:
    """The confidence below which the widget says it has no good answer."""
    from helpdesk.selectors.suggestions import confidence_threshold as engine_threshold

    return float(engine_threshold())


def query_language(text: str, *, session: WidgetSession) -> str:
    fallback = session.language or session.site.default_locale or conf.get("DEFAULT_LOCALE")
    return detect_language(text, fallback=fallback).language or fallback


def record_query(*, session: WidgetSession, text: str, at: datetime | None = None) -> QueryOutcome:
    """Run the suggestion engine for a visitor's question and record the query and what was shown.

    Only suggestions at or above the confidence threshold are shown (and recorded as shown); with
    none, the query is recorded as a content gap (`no_answer`, with the text) and the widget offers
    the ticket form instead of a wrong article.
    """
    from helpdesk.selectors.suggestions import find_suggestions
    from helpdesk.services.suggestions import record_suggestions

    text = " ".join((text or "").replace("\x00", "").split())
    if not text:
        raise ValueError("a question needs some text")
    limit = conf.get("MAX_QUERY_CHARS")
    if len(text) > limit:
        raise ValueError(f"a question may hold at most {limit} characters")
    at = at or timezone.now()
    language = query_language(text, session=session)
    result = find_suggestions(text=text, locale=language, language=language)
    shown = result.confident
    outcome = QueryOutcome(text=text, language=language, threshold=result.threshold, suggestions=shown,
                           best_confidence=max((s.confidence for s in result.suggestions), default=0.0))
    with transaction.atomic():
        Event.objects.create(kind=Event.Kind.QUERY, widget_session=session, language=language,
                             data={"text": text}, created_at=at)
        rows = record_suggestions(suggestions=shown, query=text, query_language=language, widget_session=session,
                                  at=at, threshold=result.threshold,
                                  no_answer_reason=result.no_answer_reason or "No suggestion is confident enough.",
                                  best_confidence=outcome.best_confidence)
        outcome.suggestion_ids = [row.pk for row in rows]
        fields = {"last_seen_at": at}
        if not session.language:
            fields["language"] = session.language = language
        WidgetSession.objects.filter(pk=session.pk).update(**fields)
    return outcome


def record_article_opened(*, session: WidgetSession, article: Article, suggestion: Suggestion | None = None,
                          at: datetime | None = None) -> Event:
    """Record that the visitor opened `article` (a published one) inside the widget."""
    if not article.is_published:
        raise ValueError("only published articles can be opened in the widget")
    if suggestion is None:
        suggestion = (Suggestion.objects.filter(widget_session=session, article=article)
                      .order_by("-created_at", "rank").first())
    elif suggestion.widget_session_id != session.pk:
        raise ValueError("that suggestion was not shown in this session")
    return Event.objects.create(kind=Event.Kind.ARTICLE_OPENED, widget_session=session, article=article,
                                suggestion=suggestion, language=article.locale,
                                data={"suggested": suggestion is not None}, created_at=at or timezone.now())


def record_vote(*, session: WidgetSession, helpful: bool, article: Article | None = None,
                at: datetime | None = None) -> Event:
    """Record the visitor's answer to "Did this answer your question?"."""
    suggestion = None
    if article is not None:
        suggestion = (Suggestion.objects.filter(widget_session=session, article=article)
                      .order_by("-created_at", "rank").first())
        if suggestion is not None:
            suggestion.feedback = Suggestion.Feedback.HELPFUL if helpful else Suggestion.Feedback.NOT_HELPFUL
            suggestion.save(update_fields=["feedback"])
    kind = Event.Kind.VOTE_HELPFUL if helpful else Event.Kind.VOTE_NOT_HELPFUL
    return Event.objects.create(kind=kind, widget_session=session, article=article, suggestion=suggestion,
                                language=session.language, created_at=at or timezone.now())


def session_journey(session: WidgetSession) -> dict:
    """The visitor's last question and the articles they saw, for the agent who takes the ticket."""
    events = list(session.events.filter(kind__in=[Event.Kind.QUERY, Event.Kind.ARTICLE_OPENED,
                                                  Event.Kind.SUGGESTIONS_SHOWN])
                  .select_related("article").order_by("created_at", "id"))
    questions = [e.data.get("text", "") for e in events if e.kind == Event.Kind.QUERY]
    opened, shown_ids = [], []
    for e in events:
        if e.kind == Event.Kind.ARTICLE_OPENED and e.article and e.article.pk not in [a.pk for a in opened]:
            opened.append(e.article)
        if e.kind == Event.Kind.SUGGESTIONS_SHOWN:
            shown_ids += [i for i in e.data.get("article_ids", []) if i not in shown_ids]
    shown = Article.objects.in_bulk(shown_ids)
    return {"question": questions[-1] if questions else "", "questions": questions, "opened": opened,
            "shown": [shown[i] for i in shown_ids if i in shown]}


def file_ticket(*, session: WidgetSession, email: str, message: str, name: str = "",
                at: datetime | None = None) -> Ticket:
    """Turn a session the widget could not resolve into a ticket in the agents' queue.

    The subject is the customer's question; the ticket's language is the question's; a system note
    lists the articles they already opened or were shown, so nobody sends them the same ones again.
    """
    journey = session_journey(session)
    question = journey["question"]
    message = (message or "").strip()
    if not message and not question:
        raise ValueError("please describe your question")
    language = query_language(question, session=session) if question else ""
    with transaction.atomic():
        ticket = open_ticket(subject=question or message, requester_email=(email or "").strip(),
                             requester_name=(name or "").strip()[:200], body=message or question,
                             channel=Ticket.Channel.WIDGET, widget_session=session,
                             language=language or None, at=at)
        note = [system_notes.note(system_notes.ASKED, question=question) if question
                else system_notes.note(system_notes.FILED)]
        if journey["opened"]:
            note.append(system_notes.note(system_notes.OPENED, articles="; ".join(
                f"{a.title} [{a.locale}]" for a in journey["opened"])))
        if journey["shown"]:
            note.append(system_notes.note(system_notes.SUGGESTED, articles="; ".join(
                f"{a.title} [{a.locale}]" for a in journey["shown"])))
        # For agents only: the journey is an internal note, never emailed or shown to the customer.
        post_message(ticket=ticket, author_kind=Message.Author.SYSTEM, body="\n".join(note), at=at,
                     visibility=Message.Visibility.INTERNAL)
        Event.objects.filter(ticket=ticket, kind=Event.Kind.TICKET_FILED).update(data={
            "question": question,
            "questions": journey["questions"],
            "articles_opened": [a.pk for a in journey["opened"]],
            "articles_shown": [a.pk for a in journey["shown"]],
        })
        if at is None:  # a live ticket, not replayed history: the customer hears from us by email
            from helpdesk.services.email_out import queue_acknowledgement

            queue_acknowledgement(ticket.pk)
    ticket.refresh_from_db()
    return ticket
